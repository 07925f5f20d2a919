// Prometheus metrics of the HTTP service: lock-free counters, and their text exposition
// (format 0.0.4) with the access-token counts of the IAM service.
#include <gatehouse/server/http_service.hpp>

#include <cstdio>
#include <string>

namespace gatehouse::server {

namespace {

/// Index of a decision in `decisions_`, and its label.
constexpr std::array<std::pair<engine::decision, std::string_view>, 3> outcomes = {{
    {engine::decision::allow, "allow"},
    {engine::decision::explicit_deny, "explicit_deny"},
    {engine::decision::implicit_deny, "implicit_deny"},
}};

std::size_t outcome_index(engine::decision d) noexcept {
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].first == d) return i;
  }
  return outcomes.size() - 1;
}

/// A bucket bound in seconds, without trailing zeros (`0.000025`, `0.01`).
std::string seconds_label(double microseconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", microseconds / 1e6);
  std::string label(text);
  label.erase(label.find_last_not_of('0') + 1);
  if (label.back() == '.') label.pop_back();
  return label;
}

void append_line(std::string& out, std::string_view name, std::string_view labels,
                 std::uint64_t value) {
  out += name;
  out += labels;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void metrics::count_decision(engine::decision d, std::chrono::nanoseconds latency) noexcept {
  decisions_[outcome_index(d)].fetch_add(1, std::memory_order_relaxed);
  const auto ns = latency.count() < 0 ? 0 : static_cast<std::uint64_t>(latency.count());
  const double us = static_cast<double>(ns) / 1e3;
  std::size_t bucket = 0;
  while (bucket < latency_buckets_us.size() && us > latency_buckets_us[bucket]) ++bucket;
  // Per-bucket counts; render() accumulates them, so each decision costs one increment.
  latency_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

void metrics::count_response(unsigned status) noexcept {
  if (status < responses_.size()) responses_[status].fetch_add(1, std::memory_order_relaxed);
}

std::string metrics::render(const iam::service& iam, const store_freshness* store) const {
  std::string out;
  out.reserve(4096);

  append_header(out, "gatehouse_decisions_total", "counter", "Decisions answered, by outcome.");
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    append_line(out, "gatehouse_decisions_total",
                "{outcome=\"" + std::string(outcomes[i].second) + "\"}",
                decisions_[i].load(std::memory_order_relaxed));
  }

  constexpr std::string_view latency = "gatehouse_decision_latency_seconds";
  append_header(out, latency, "histogram", "Time the engine took to answer one decision.");
  // One snapshot of the buckets, so that the cumulative counts never decrease and `_count`
  // equals the `+Inf` bucket even while decisions are being counted.
  std::array<std::uint64_t, latency_buckets_us.size() + 1> counts{};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = latency_[i].load(std::memory_order_relaxed);
  }
  const std::string bucket_name = std::string(latency) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_buckets_us.size(); ++i) {
    cumulative += counts[i];
    append_line(out, bucket_name, "{le=\"" + seconds_label(latency_buckets_us[i]) + "\"}",
                cumulative);
  }
  cumulative += counts.back();
  append_line(out, bucket_name, "{le=\"+Inf\"}", cumulative);
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.9f",
                static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out += latency;
  out += "_sum ";
  out += sum;
  out += '\n';
  append_line(out, std::string(latency) + "_count", "", cumulative);

  append_header(out, "gatehouse_access_tokens", "gauge", "Access tokens, by state.");
  const auto tokens = iam.count_tokens();
  append_line(out, "gatehouse_access_tokens", "{state=\"active\"}", tokens.active);
  append_line(out, "gatehouse_access_tokens", "{state=\"inactive\"}", tokens.inactive);
  append_line(out, "gatehouse_access_tokens", "{state=\"revoked\"}", tokens.revoked);

  append_header(out, "gatehouse_statements_failed_closed_total", "counter",
                "Stored statements that did not compile and fail closed (see the log).");
  append_line(out, "gatehouse_statements_failed_closed_total", "", iam.statements_failed_closed());

  append_header(out, "gatehouse_audit_refusals_not_recorded_total", "counter",
                "Refused attempts left out of the audit trail: their caller was over 30 a minute.");
  append_line(out, "gatehouse_audit_refusals_not_recorded_total", "", iam.refusals_not_recorded());

  if (store != nullptr) {
    append_header(out, "gatehouse_store_staleness_seconds", "gauge",
                  "Time since the shared store's change log was last read.");
    char staleness[32];
    std::snprintf(staleness, sizeof staleness, "%.3f",
                  static_cast<double>(store->staleness().count()) / 1e3);
    out += "gatehouse_store_staleness_seconds ";
    out += staleness;
    out += '\n';
    append_header(out, "gatehouse_store_reachable", "gauge",
                  "Whether the shared store answered the last attempt.");
    append_line(out, "gatehouse_store_reachable", "", store->reachable() ? 1 : 0);
    append_header(out, "gatehouse_change_log_applied_id", "gauge",
                  "The newest change-log entry this instance has applied.");
    append_line(out, "gatehouse_change_log_applied_id", "",
                static_cast<std::uint64_t>(iam.applied_change_id()));
  }

  append_header(out, "gatehouse_http_responses_total", "counter",
                "HTTP responses sent, by status code.");
  for (std::size_t status = 0; status < responses_.size(); ++status) {
    const auto n = responses_[status].load(std::memory_order_relaxed);
    if (n == 0) continue;
    append_line(out, "gatehouse_http_responses_total",
                "{status=\"" + std::to_string(status) + "\"}", n);
  }
  return out;
}

}  // namespace gatehouse::server
