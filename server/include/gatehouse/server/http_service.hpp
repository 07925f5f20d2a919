// The HTTP service as a pure function: a parsed request in, a response out, with the IAM service
// behind it. No sockets and no Beast here: the session layer converts, so this compiles fast and
// can be unit-tested and fuzzed directly.
#pragma once

#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/iam/service.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::server {

/// An audit record as GET audit-log answers it, with its organization's id: one line of
/// `gatehouse audit`.
[[nodiscard]] std::string audit_record_line(const store::audit_record& r);

/// What handle_request needs of a request; views into the session's buffers.
struct http_request {
  std::string_view method{};  // "GET", "POST", ...
  std::string_view target{};  // path and query, e.g. "/api/v1/access-tokens?pageIndex=0"
  std::string_view authorization{};
  std::string_view organization{};   // the `Organization` header
  std::string_view if_none_match{};  // the console's files are revalidated with their ETags
  std::string_view if_match{};       // the policy version a write or preview was made against
  std::string_view body{};
};

/// An answer. Its header values are the service's own, never bytes a client sent.
struct http_response {
  static constexpr std::string_view json_content_type = "application/json";
  static constexpr std::string_view no_store = "no-store";
  static constexpr std::string_view no_subject = "-";

  unsigned status = 200;
  std::string content_type{json_content_type};
  /// API answers may carry a new token's secret: no cache may keep them.
  std::string cache_control{no_store};
  /// Further headers: ETag, Location, the console's Content-Security-Policy.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// For the access log: "member:<id>", "personal-token:<id>", "service-token:<id>" or "-".
  /// Never a secret.
  std::string subject{no_subject};

  /// Back to a new response's values, keeping what its strings and headers have allocated: a
  /// connection reuses one response for all its answers.
  void reset() {
    status = 200;
    content_type = json_content_type;
    cache_control = no_store;
    headers.clear();
    body.clear();
    // Not `subject = no_subject`: GCC 12 warns falsely (-Wrestrict) on that one-byte assignment.
    subject.clear();
    subject += no_subject;
  }
};

class store_freshness;

/// Prometheus metrics, updated lock-free from every I/O thread.
class metrics {
 public:
  /// Decision latency buckets, in microseconds.
  static constexpr std::array<double, 10> latency_buckets_us = {1,  2,   5,   10,   25,
                                                                50, 100, 250, 1000, 10000};

  void count_decision(engine::decision d, std::chrono::nanoseconds latency) noexcept;
  void count_response(unsigned status) noexcept;
  /// The Prometheus text exposition of everything, plus the token counts of `iam`, and with a
  /// shared store (`store` not null) its freshness and the change log's progress.
  [[nodiscard]] std::string render(const iam::service& iam,
                                   const store_freshness* store = nullptr) const;

 private:
  std::array<std::atomic<std::uint64_t>, 3> decisions_{};
  std::array<std::atomic<std::uint64_t>, latency_buckets_us.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_ns_{0};
  std::array<std::atomic<std::uint64_t>, 600> responses_{};  // by status code
};

/// Limits of the request path, next to what they limit. The transport enforces the body limit
/// with the same value, read through http_service::limits.
struct http_limits {
  /// Checks in one batch decision request at most.
  std::size_t max_batch_checks = 100;
  /// Bytes of request body; more is answered 413 (by the transport before the body is read,
  /// and the connection closed).
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
};

/// How fresh an instance's view of a store it shares with other instances is (SPEC §12): the
/// thread that follows the store's change log reports each round, and every request reads it.
/// Past `max_staleness` without hearing from the store, the instance may have missed a
/// revocation made elsewhere, so the API answers 503 StoreUnavailable until it hears again.
class store_freshness {
 public:
  explicit store_freshness(std::chrono::milliseconds max_staleness) noexcept;

  /// The change log was read: memory holds everything committed until now.
  void heard() noexcept;
  /// The store could not be reached.
  void lost() noexcept;

  /// How long since the store was last heard from.
  [[nodiscard]] std::chrono::milliseconds staleness() const noexcept;
  /// Whether that is longer than the instance may answer from memory.
  [[nodiscard]] bool stale() const noexcept { return staleness() > max_staleness_; }
  /// Whether the last attempt to reach the store succeeded.
  [[nodiscard]] bool reachable() const noexcept {
    return reachable_.load(std::memory_order_relaxed);
  }

 private:
  std::chrono::milliseconds max_staleness_;
  std::atomic<std::int64_t> heard_at_ns_;
  std::atomic<bool> reachable_{true};
};

class costly_calls;

class http_service {
 public:
  /// `iam` and `m` must outlive the service. `jwt` verifies member JWTs until replaced.
  http_service(iam::service& iam, iam::jwt_verifier jwt, metrics& m, http_limits limits = {});
  ~http_service();
  http_service(const http_service&) = delete;
  http_service& operator=(const http_service&) = delete;

  /// Verifies member JWTs with `jwt` from the next request on (key rotation); requests that
  /// have begun finish with the verifier they began with. Thread-safe. A null `jwt` refuses
  /// every member JWT.
  void replace_jwt_verifier(std::shared_ptr<const iam::jwt_verifier> jwt) noexcept;

  /// Maps one request to IAM service calls and back into `response`, which it resets first.
  /// Never throws: an unexpected failure is a 500 with the envelope. A caller that passes the
  /// same response for every request of a connection gets a decision answered without an
  /// allocation for the answer: its body is written into the room the last one left.
  void handle_request(const http_request& request, http_response& response) noexcept;

  /// The same into a new response.
  [[nodiscard]] http_response handle_request(const http_request& request) noexcept;

  [[nodiscard]] const http_limits& limits() const noexcept { return limits_; }

  /// From now on, answers the API 503 StoreUnavailable while `f` is stale, and reports it on
  /// /healthz and /metrics; `f` must outlive the service. Call before serving.
  void follow(const store_freshness* f) noexcept { freshness_ = f; }

 private:
  iam::service& iam_;
  // Read by every request that carries a JWT, replaced whole on SIGHUP: a request copies the
  // pointer and verifies with no lock held.
  std::atomic<std::shared_ptr<const iam::jwt_verifier>> jwt_;
  metrics& metrics_;
  http_limits limits_;
  const store_freshness* freshness_ = nullptr;
  std::unique_ptr<costly_calls> costly_;
};

}  // namespace gatehouse::server
