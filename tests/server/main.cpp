// Boost.Test entry point of the server suites.
#define BOOST_TEST_MODULE gatehouse server
#include <boost/test/unit_test.hpp>
