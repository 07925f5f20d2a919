// Boost.Test entry point of the store suites.
#define BOOST_TEST_MODULE gatehouse store
#include <boost/test/unit_test.hpp>
