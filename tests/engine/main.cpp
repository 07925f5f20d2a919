// Boost.Test entry point of the engine suites.
#define BOOST_TEST_MODULE gatehouse engine
#include <boost/test/unit_test.hpp>
