// Reading the machine's state from /proc and getrusage: CPU model, load average, CPU time of
// the machine and of this process, the time of day.
#include "machine.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <fstream>
#include <string_view>

#include <sys/resource.h>
#include <unistd.h>

namespace gatehouse::bench {
namespace {

std::string first_line_of(const std::string& path, std::string_view prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) return line;
  }
  return {};
}

}  // namespace

std::string cpu_model() {
  auto line = first_line_of("/proc/cpuinfo", "model name");
  const auto colon = line.find(':');
  return colon == std::string::npos ? std::string()
                                    : line.substr(line.find_first_not_of(' ', colon + 1));
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

cpu_sample cpu_sample::now() {
  cpu_sample out;
  std::ifstream in("/proc/stat");
  std::string label;
  in >> label;
  std::array<double, 8> ticks{};  // user nice system idle iowait irq softirq steal
  for (auto& t : ticks) in >> t;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (auto t : ticks) total += t;
  out.total_s = total / hz;
  out.busy_s = (total - ticks[3] - ticks[4]) / hz;
  out.steal_s = ticks[7] / hz;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  out.self_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  return out;
}

machine_noise noise_between(const cpu_sample& start, const cpu_sample& end) {
  const double total = end.total_s - start.total_s;
  if (total <= 0) return {};
  const double others = (end.busy_s - start.busy_s) - (end.self_s - start.self_s);
  return {std::max(0.0, 100 * others / total), 100 * (end.steal_s - start.steal_s) / total};
}

std::string utc_now() {
  const auto now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text.data();
}

}  // namespace gatehouse::bench
