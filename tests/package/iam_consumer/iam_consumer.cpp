// The IAM service in a host program, against the installed package: a SQLite store, an
// organization with its owner, a decision, and a member JWT minted and verified, so that the
// link needs SQLite, OpenSSL and libjwt. Prints one line per step; exits 0 when all hold.
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>

namespace iam = gatehouse::iam;
namespace store = gatehouse::store;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: iam_consumer DATABASE\n";
    return 2;
  }
  auto key = iam::server_key::generate();
  auto database = store::open_sqlite(argv[1]);
  if (!key || !database) {
    std::cerr << "server key or database: " << (key ? database.error() : key.error()).message()
              << '\n';
    return 1;
  }
  auto service = iam::service::open(std::move(*database), *key, iam::embedded_builtin_policies());
  if (!service) {
    std::cerr << "service: " << service.error().detail << '\n';
    return 1;
  }
  auto organization = (*service)->create_organization("acme", "owner@example.com");
  if (!organization) {
    std::cerr << "organization: " << organization.error().detail << '\n';
    return 1;
  }
  const auto& [org, owner] = *organization;
  auto who = (*service)->authenticate_member(owner.id, org.id);
  const bool owner_manages_iam = who && (*service)->decide_only(*who, "CanManageIAM", "iam/*") ==
                                            gatehouse::engine::decision::allow;
  std::cout << "owner may CanManageIAM on iam/*: " << (owner_manages_iam ? "yes" : "no") << '\n';

  const std::string secret(32, 's');
  auto token = iam::mint_hs256(secret, owner.id, org.id, std::chrono::seconds{60});
  auto claims = token ? iam::jwt_verifier(iam::jwt_algorithm::hs256, secret).verify(*token)
                      : boost::system::result<iam::member_claims>(token.error());
  const bool jwt_round_trip = claims && claims->member_id == owner.id;
  std::cout << "member JWT verifies: " << (jwt_round_trip ? "yes" : "no") << '\n';

  return owner_manages_iam && jwt_round_trip ? EXIT_SUCCESS : EXIT_FAILURE;
}
