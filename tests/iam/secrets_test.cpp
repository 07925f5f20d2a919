// Token secrets and server keys: the secret format, base64url against RFC 4648, HMAC-SHA-256
// against RFC 4231 and the openssl command, key files (mode, reload, refusals, races).
#include <gatehouse/iam/secrets.hpp>

#include <sys/stat.h>

#include <array>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace data = boost::unit_test::data;
namespace fs = std::filesystem;
using gatehouse::iam::secret_errc;
using gatehouse::iam::secret_hasher;
using gatehouse::iam::server_key;
using gatehouse::store::secret_hash;

constexpr std::string_view url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string hex(const secret_hash& hash) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : hash) {
    out += digits[byte >> 4];
    out += digits[byte & 0xf];
  }
  return out;
}

std::string encode(std::string_view text) {
  return gatehouse::iam::base64url(reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
}

// HMAC pads a key shorter than the block with zeros, so a published vector with a key of at most
// 32 bytes holds for that key zero-padded to a 32-byte server key.
server_key key_padded(std::string_view bytes) {
  std::array<unsigned char, 32> key{};
  BOOST_REQUIRE(bytes.size() <= key.size());
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return server_key::from_bytes(key);
}

server_key counting_key() {
  std::array<unsigned char, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i);
  return server_key::from_bytes(key);
}

std::string hmac_hex(const server_key& key, std::string_view message) {
  return hex(secret_hasher(key).hash(message));
}

// A fresh directory per test, removed afterwards.
struct temporary_directory {
  temporary_directory() {
    std::string pattern = (fs::temp_directory_path() / "gatehouse-secrets-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temporary_directory() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  [[nodiscard]] std::string file(const char* name) const { return (path / name).string(); }
  fs::path path;
};

void write_file(const std::string& path, std::size_t size, fs::perms mode) {
  std::ofstream(path, std::ios::binary) << std::string(size, 'k');
  fs::permissions(path, mode, fs::perm_options::replace);
}

fs::perms mode_of(const std::string& path) {
  return fs::status(path).permissions() & fs::perms::mask;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secrets_tests)

BOOST_AUTO_TEST_CASE(generated_secrets_are_api_dash_and_43_url_characters_never_repeated) {
  std::set<std::string> seen;
  std::set<char> characters;
  for (int i = 0; i < 1000; ++i) {
    auto secret = gatehouse::iam::generate_token_secret();
    BOOST_REQUIRE(secret.has_value());
    BOOST_TEST(secret->size() == 47u);
    BOOST_TEST(secret->substr(0, 4) == "api-");
    BOOST_TEST(secret->find_first_not_of(url_alphabet, 4) == std::string::npos);
    BOOST_TEST(gatehouse::iam::looks_like_token_secret(*secret));
    seen.insert(*secret);
    characters.insert(secret->begin() + 4, secret->end() - 1);
  }
  BOOST_TEST(seen.size() == 1000u);
  // 42,000 random characters cover the whole alphabet; a generator stuck on some bits would not.
  BOOST_TEST(characters.size() == url_alphabet.size());
}

// RFC 4648 §10, in the url alphabet without padding, and bytes that use `-` and `_`.
const std::vector<std::string> base64url_inputs = {
    "", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff", "\xff\xff\xff", "\xfb\xef\xbe",
};
const std::vector<std::string> base64url_outputs = {
    "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy", "-_8", "____", "----",
};

BOOST_DATA_TEST_CASE(base64url_matches_rfc_4648_vectors,
                     data::make(base64url_inputs) ^ data::make(base64url_outputs), input,
                     expected) {
  BOOST_TEST(encode(input) == expected);
}

BOOST_AUTO_TEST_CASE(base64url_of_long_input_matches_a_bitwise_reference) {
  // Longer than the encoder's chunk, and not a multiple of 3, to cross every chunk boundary.
  std::string input;
  for (int i = 0; i < 2000; ++i) input += static_cast<char>((i * 131 + 7) & 0xff);
  std::string expected;
  for (std::size_t bit = 0; bit < input.size() * 8; bit += 6) {
    unsigned value = 0;
    for (std::size_t b = bit; b < bit + 6; ++b) {
      const unsigned byte = b / 8 < input.size() ? static_cast<unsigned char>(input[b / 8]) : 0u;
      value = (value << 1) | ((byte >> (7 - b % 8)) & 1u);
    }
    expected += url_alphabet[value];
  }
  BOOST_TEST(encode(input) == expected);
  const std::array<unsigned char, 32> counting = counting_key().bytes();
  BOOST_TEST(gatehouse::iam::base64url(counting.data(), counting.size()) ==
             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
}

const std::vector<std::string> not_secrets = {
    "",
    "api-",
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh",         // 42 characters
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",       // 44 characters
    "API-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",        // prefix is case-sensitive
    "xyz-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",        // other prefix
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd+h8",        // standard alphabet
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=8",        // padding
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9",        // last character not canonical
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaG wdHh8",        // space
    "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw\xc3\xa9h8",  // bytes above 0x7f
    std::string("api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw\0dh8", 47),  // NUL
    "Bearer api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx",                  // scheme included
};

BOOST_DATA_TEST_CASE(looks_like_token_secret_refuses_other_shapes, data::make(not_secrets), text) {
  BOOST_TEST(!gatehouse::iam::looks_like_token_secret(text));
}

BOOST_AUTO_TEST_CASE(looks_like_token_secret_accepts_a_canonical_secret) {
  BOOST_TEST(
      gatehouse::iam::looks_like_token_secret("api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
  BOOST_TEST(
      gatehouse::iam::looks_like_token_secret("api-__________________________________________w"));
}

// Every byte value at every position after the marker, against the definition: a base64url
// character, and at the end one of the 16 that end a canonical encoding. The check reads the
// characters in overlapping blocks, so each position is tried on its own.
BOOST_AUTO_TEST_CASE(looks_like_token_secret_checks_every_byte_at_every_position) {
  const std::string canonical = "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string_view endings = "AEIMQUYcgkosw048";
  std::size_t disagreements = 0;
  for (std::size_t at = 4; at < canonical.size(); ++at) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string text = canonical;
      text[at] = static_cast<char>(byte);
      const auto allowed = at + 1 == canonical.size() ? endings : alphabet;
      const bool expected = allowed.find(text[at]) != std::string_view::npos;
      if (gatehouse::iam::looks_like_token_secret(text) != expected) {
        ++disagreements;
        BOOST_TEST_MESSAGE("byte " << byte << " at " << at);
      }
    }
  }
  BOOST_TEST(disagreements == 0U);
}

BOOST_AUTO_TEST_CASE(hmac_matches_rfc_4231_test_cases_1_and_2) {
  BOOST_TEST(hmac_hex(key_padded(std::string(20, '\x0b')), "Hi There") ==
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  BOOST_TEST(hmac_hex(key_padded("Jefe"), "what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(hmac_with_a_full_32_byte_key_matches_the_openssl_command) {
  // printf '%s' MESSAGE | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f
  BOOST_TEST(hmac_hex(counting_key(), "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8") ==
             "d7617ccb6502cfca0c941d191578393ab614b231e18e3a7d761880e577664ca6");
  BOOST_TEST(hmac_hex(counting_key(), "") ==
             "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb");
}

BOOST_AUTO_TEST_CASE(hashers_with_different_keys_interleave_without_mixing_keys) {
  // Each thread caches a context keyed for the last key used; alternating keys must re-key it.
  const secret_hasher jefe(key_padded("Jefe"));
  const secret_hasher counting(counting_key());
  const std::string message = "what do ya want for nothing?";
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(hex(jefe.hash(message)) ==
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    BOOST_TEST(hex(counting.hash("")) ==
               "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb");
  }
  BOOST_TEST(hex(jefe.hash("other")) != hex(counting.hash("other")));
}

BOOST_AUTO_TEST_CASE(hashes_agree_across_threads) {
  const secret_hasher hasher(counting_key());
  const std::string message = "api-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  threads.reserve(results.size());
  for (auto& result : results) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) result = hex(hasher.hash(message));
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) {
    BOOST_TEST(result == "d7617ccb6502cfca0c941d191578393ab614b231e18e3a7d761880e577664ca6");
  }
}

BOOST_AUTO_TEST_CASE(equal_in_constant_time_compares_every_byte) {
  const secret_hash base = secret_hasher(counting_key()).hash("x");
  BOOST_TEST(gatehouse::iam::equal_in_constant_time(base, base));
  for (std::size_t i = 0; i < base.size(); ++i) {
    secret_hash other = base;
    other[i] ^= 0x01;
    BOOST_TEST(!gatehouse::iam::equal_in_constant_time(base, other), "byte " << i);
  }
}

BOOST_AUTO_TEST_CASE(generated_server_keys_differ) {
  auto a = server_key::generate();
  auto b = server_key::generate();
  BOOST_REQUIRE(a.has_value());
  BOOST_REQUIRE(b.has_value());
  BOOST_TEST(a->bytes() != b->bytes());
}

BOOST_AUTO_TEST_CASE(key_file_is_created_with_mode_0600_and_reloads_identically) {
  const temporary_directory dir;
  const auto path = dir.file("token.key");
  const auto previous_umask = ::umask(0);  // the mode must not depend on the caller's umask
  auto created = server_key::load_or_create(path);
  ::umask(previous_umask);
  BOOST_REQUIRE_MESSAGE(created.has_value(), created.error().message());
  BOOST_TEST((mode_of(path) == (fs::perms::owner_read | fs::perms::owner_write)));
  BOOST_TEST(fs::file_size(path) == 32u);
  auto reloaded = server_key::load_or_create(path);
  BOOST_REQUIRE_MESSAGE(reloaded.has_value(), reloaded.error().message());
  BOOST_TEST(reloaded->bytes() == created->bytes());
  // Only the key remains: the temporary file was renamed, not copied.
  BOOST_TEST(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  auto other = server_key::load_or_create(dir.file("jwt.key"));
  BOOST_REQUIRE(other.has_value());
  BOOST_TEST(other->bytes() != created->bytes());
}

BOOST_AUTO_TEST_CASE(key_file_bytes_are_the_key) {
  const temporary_directory dir;
  const auto path = dir.file("token.key");
  {
    std::ofstream out(path, std::ios::binary);
    const auto bytes = counting_key().bytes();
    out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  fs::permissions(path, fs::perms::owner_read, fs::perm_options::replace);
  auto loaded = server_key::load_or_create(path);
  BOOST_REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message());
  BOOST_TEST(loaded->bytes() == counting_key().bytes());
}

const std::vector<unsigned> open_modes = {0644, 0640, 0604, 0620, 0602, 0660, 0666, 0700 | 0070};

BOOST_DATA_TEST_CASE(key_file_open_to_group_or_others_is_refused, data::make(open_modes), mode) {
  const temporary_directory dir;
  const auto path = dir.file("token.key");
  write_file(path, 32, static_cast<fs::perms>(mode));
  auto loaded = server_key::load_or_create(path);
  BOOST_REQUIRE(!loaded.has_value());
  BOOST_TEST(loaded.error() == make_error_code(secret_errc::key_file_insecure_permissions));
  BOOST_TEST(fs::file_size(path) == 32u);  // refused, not replaced
}

const std::vector<std::size_t> wrong_sizes = {0, 1, 31, 33, 64};

BOOST_DATA_TEST_CASE(key_file_of_wrong_size_is_refused, data::make(wrong_sizes), size) {
  const temporary_directory dir;
  const auto path = dir.file("token.key");
  write_file(path, size, fs::perms::owner_read | fs::perms::owner_write);
  auto loaded = server_key::load_or_create(path);
  BOOST_REQUIRE(!loaded.has_value());
  BOOST_TEST(loaded.error() == make_error_code(secret_errc::key_file_wrong_size));
  BOOST_TEST(fs::file_size(path) == size);
}

BOOST_AUTO_TEST_CASE(key_path_that_is_a_directory_or_fifo_is_refused) {
  const temporary_directory dir;
  const auto directory = dir.file("token.key");
  fs::create_directory(directory);
  fs::permissions(directory, fs::perms::owner_all, fs::perm_options::replace);
  auto loaded = server_key::load_or_create(directory);
  BOOST_REQUIRE(!loaded.has_value());
  BOOST_TEST(loaded.error() == make_error_code(secret_errc::key_file_not_regular));

  const auto fifo = dir.file("fifo.key");
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  loaded = server_key::load_or_create(fifo);  // must not block waiting for a writer
  BOOST_REQUIRE(!loaded.has_value());
  BOOST_TEST(loaded.error() == make_error_code(secret_errc::key_file_not_regular));
}

BOOST_AUTO_TEST_CASE(key_in_a_missing_directory_is_an_io_error) {
  const temporary_directory dir;
  auto loaded = server_key::load_or_create(dir.file("missing/token.key"));
  BOOST_REQUIRE(!loaded.has_value());
  BOOST_TEST((loaded.error() == boost::system::errc::no_such_file_or_directory),
             loaded.error().message());
}

BOOST_AUTO_TEST_CASE(concurrent_first_starts_agree_on_one_key) {
  // Processes racing to create the same key file must all end up with the published one.
  for (int round = 0; round < 20; ++round) {
    const temporary_directory dir;
    const auto path = dir.file("token.key");
    std::vector<std::array<unsigned char, 32>> keys(4);
    std::vector<std::string> errors(keys.size());
    std::vector<std::thread> threads;
    threads.reserve(keys.size());
    for (std::size_t t = 0; t < keys.size(); ++t) {
      threads.emplace_back([&, t] {
        auto key = server_key::load_or_create(path);
        if (key) {
          keys[t] = key->bytes();
        } else {
          errors[t] = key.error().message();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (std::size_t t = 0; t < keys.size(); ++t) {
      BOOST_TEST(errors[t].empty(), errors[t]);
      BOOST_TEST(keys[t] == keys[0]);
    }
    BOOST_TEST(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  }
}

BOOST_AUTO_TEST_CASE(secret_error_codes_have_distinct_messages) {
  std::set<std::string> messages;
  for (auto code : {secret_errc::random_failure, secret_errc::key_file_insecure_permissions,
                    secret_errc::key_file_wrong_size, secret_errc::key_file_not_regular}) {
    const boost::system::error_code ec = code;
    BOOST_TEST(ec.category().name() == std::string("gatehouse.secret"));
    messages.insert(ec.message());
  }
  BOOST_TEST(messages.size() == 4u);
  BOOST_TEST(messages.count("unknown secret error") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
