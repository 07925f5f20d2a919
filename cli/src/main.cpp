// Entry point of the `gatehouse` executable: hands the arguments to the CLI and turns anything
// that still escapes (allocation failure, say) into a message and exit code 2.
#include "cli.hpp"

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  // The CLI writes through iostreams only; unsyncing keeps `decide` output on large request
  // files from paying a stdio round trip per line.
  std::ios::sync_with_stdio(false);
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    return gatehouse::cli::run(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "gatehouse: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "gatehouse: unexpected error\n";
  }
  return gatehouse::cli::exit_bad_input;
}
