// Entry point of the policy test suite (Boost.Test, dynamically linked).
#define BOOST_TEST_MODULE gatehouse_policy
#include <boost/test/unit_test.hpp>
