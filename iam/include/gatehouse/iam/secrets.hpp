// Access-token secrets and the server keys: generation from OpenSSL's CSPRNG, keyed hashing,
// constant-time comparison, and key files kept outside the database with mode 0600.
#pragma once

#include <gatehouse/store/records.hpp>

#include <array>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace gatehouse::iam {

/// Why a secret or a server key could not be produced. I/O failures carry the `errno` value in
/// the system category instead.
enum class secret_errc {
  /// OpenSSL's CSPRNG failed; nothing random was produced.
  random_failure = 1,
  /// The key file is readable or writable by group or others; it must be mode 0600 (or stricter).
  key_file_insecure_permissions,
  /// The key file is not exactly 32 bytes: truncated, padded or not a gatehouse key.
  key_file_wrong_size,
  /// The key path names a directory, device or other non-regular file.
  key_file_not_regular,
};
const boost::system::error_category& secret_category() noexcept;
inline boost::system::error_code make_error_code(secret_errc e) noexcept {
  return {static_cast<int>(e), secret_category()};
}

/// HMAC-SHA-256 of a token secret under the server's token key; what the store keeps.
using store::secret_hash;

using store::secret_prefix_length;

/// A new secret: 256 bits from RAND_bytes, rendered `api-` + unpadded base64url (47 chars).
/// Fails only if the CSPRNG fails.
[[nodiscard]] boost::system::result<std::string> generate_token_secret();

/// Whether `text` has the shape of a secret (`api-` + 43 base64url characters); cheap, used to
/// reject garbage before hashing.
[[nodiscard]] bool looks_like_token_secret(std::string_view text) noexcept;

/// A server key: 32 random bytes. Its bytes are wiped on destruction.
class server_key {
 public:
  /// A fresh key from the CSPRNG.
  [[nodiscard]] static boost::system::result<server_key> generate();
  /// Reads `path`, or creates it (mode 0600, written atomically) when it does not exist. Refuses
  /// a file that is readable by group or others, or that is not exactly 32 bytes.
  [[nodiscard]] static boost::system::result<server_key> load_or_create(const std::string& path);
  /// A key with the given bytes: for tests with published vectors, never for production keys.
  [[nodiscard]] static server_key from_bytes(const std::array<unsigned char, 32>& bytes) noexcept;

  server_key(const server_key&) = default;
  server_key& operator=(const server_key&) = default;
  // A move copies the bytes (std::array cannot do better); the source still wipes its own.
  server_key(server_key&&) = default;
  server_key& operator=(server_key&&) = default;
  ~server_key();

  [[nodiscard]] const std::array<unsigned char, 32>& bytes() const noexcept { return bytes_; }

 private:
  server_key() = default;
  std::array<unsigned char, 32> bytes_{};
};

/// Hashes token secrets under a server key with HMAC-SHA-256. Thread-safe.
class secret_hasher {
 public:
  explicit secret_hasher(server_key key);
  /// Never fails visibly: should OpenSSL fail (out of memory), the process aborts rather than
  /// return a hash that could be stored or matched by mistake.
  [[nodiscard]] secret_hash hash(std::string_view secret) const noexcept;

 private:
  server_key key_;
  /// Names `key_` for the per-thread HMAC contexts: unique to each constructed hasher, shared by
  /// its copies, which hold the same key.
  std::uint64_t key_id_;
};

/// Constant-time equality (CRYPTO_memcmp).
[[nodiscard]] bool equal_in_constant_time(const secret_hash& a, const secret_hash& b) noexcept;

/// Unpadded base64url of `bytes`.
[[nodiscard]] std::string base64url(const unsigned char* bytes, std::size_t size);

/// What instances sharing one store compare to know they hold the same keys (SPEC §12): the
/// first 16 bytes of SHA-256 over a label and both keys, as hex. It tells nothing of the keys.
/// Empty when the digest fails: no store may be opened with that.
[[nodiscard]] std::string key_fingerprint(const server_key& token_key, const server_key& jwt_key);

}  // namespace gatehouse::iam

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::iam::secret_errc> : std::true_type {};
}  // namespace boost::system
