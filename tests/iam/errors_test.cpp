// The IAM error category and `outcome<T>::value()` throwing on a failure.
#include <gatehouse/iam/errors.hpp>

#include <boost/system/system_error.hpp>
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>

namespace {

using gatehouse::iam::errc;
using gatehouse::iam::failure;
using gatehouse::iam::outcome;

}  // namespace

BOOST_AUTO_TEST_SUITE(errors_tests)

BOOST_AUTO_TEST_CASE(every_iam_code_has_its_own_message_in_the_iam_category) {
  std::set<std::string> messages;
  for (int code = static_cast<int>(errc::unauthorized);
       code <= static_cast<int>(errc::check_too_complex); ++code) {
    const boost::system::error_code ec = static_cast<errc>(code);
    BOOST_TEST(ec.category().name() == std::string("gatehouse.iam"));
    BOOST_TEST(ec.value() == code);
    messages.insert(ec.message());
  }
  BOOST_TEST(messages.size() == 14u);
  BOOST_TEST(messages.count("unknown IAM error") == 0u);
}

BOOST_AUTO_TEST_CASE(value_of_a_failed_outcome_throws_system_error_with_code_and_detail) {
  const outcome<int> failed = failure(errc::not_found, "policy p1");
  try {
    (void)failed.value();
    BOOST_FAIL("value() of a failure must throw");
  } catch (const boost::system::system_error& e) {
    BOOST_TEST(e.code() == make_error_code(errc::not_found));
    BOOST_TEST(std::string(e.what()).find("policy p1") != std::string::npos, e.what());
  }
  const outcome<int> succeeded = 7;
  BOOST_TEST(succeeded.value() == 7);
}

BOOST_AUTO_TEST_SUITE_END()
