// Boost.Test entry point of the iam suites.
#define BOOST_TEST_MODULE gatehouse iam
#include <boost/test/unit_test.hpp>
