// What the machine is and what it was doing during a run: the figures are only as good as the
// share of the CPU other work took is low.
#pragma once

#include <string>

namespace gatehouse::bench {

std::string cpu_model();
/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
std::string load_average();
/// The current time as ISO 8601 in UTC, to the second.
std::string utc_now();

#ifdef __clang__
constexpr const char* compiler_name = "clang " __clang_version__;
#else
constexpr const char* compiler_name = "gcc " __VERSION__;
#endif

/// CPU time of the whole machine (/proc/stat) and of this process, to tell afterwards how much
/// of the machine other work took during the run.
struct cpu_sample {
  double busy_s = 0;
  double total_s = 0;
  double steal_s = 0;
  double self_s = 0;

  static cpu_sample now();
};

struct machine_noise {
  /// Share of the machine's CPU capacity used by other processes (0-100).
  double others_percent = 0;
  /// Share stolen by the hypervisor (0-100).
  double steal_percent = 0;
};

machine_noise noise_between(const cpu_sample& start, const cpu_sample& end);

}  // namespace gatehouse::bench
