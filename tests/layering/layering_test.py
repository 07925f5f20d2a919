"""The link graph between gatehouse's targets, from `cmake --graphviz` on a freshly configured tree.

Checks that every edge points down the layering of SPEC section 1 (cli -> server -> iam ->
engine -> policy, iam -> store) and that README.md's Layout section shows the graph as it is.
With --write-readme, rewrites that part of README.md instead of comparing it.

    python3 tests/layering/layering_test.py [--write-readme]     # from the source folder
"""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

# Each target of ours by its layer, and the layers it may link: only those below it. A new
# library folder fails the check until it is placed here.
LAYERS = {
    "gatehouse": "cli",
    "gatehouse_server": "server",
    "gatehouse_iam": "iam",
    "gatehouse_engine": "engine",
    "gatehouse_store": "store",
    "gatehouse_policy": "policy",
}
MAY_LINK = {
    "cli": {"server", "iam", "engine", "store", "policy"},
    "server": {"iam", "engine", "store", "policy"},
    "iam": {"engine", "store", "policy"},
    "engine": {"policy"},
    "store": {"policy"},
    "policy": set(),
}
# Ours, but not a layer: compile and link flags for every target.
IGNORED = {"gatehouse_build_options"}
# CMake's graphviz edge styles: none for PUBLIC, dotted for PRIVATE, dashed for INTERFACE.
VISIBILITY = {None: "public", "dotted": "private", "dashed": "interface"}

BEGIN = "<!-- link graph: tests/layering/layering_test.py --write-readme -->"
END = "<!-- end of link graph -->"

NODE = re.compile(r'^\s*"(node\d+)" \[ label = "([^"]*)"')
EDGE = re.compile(r'^\s*"(node\d+)" -> "(node\d+)"(?: \[ style = (\w+) \])?')


def read_graph(source, cmake, generator, cxx):
    """Configures `source` in a scratch folder and returns its edges between targets by name."""
    with tempfile.TemporaryDirectory(prefix="gatehouse-graph.") as scratch:
        build = pathlib.Path(scratch)
        # Only the whole graph, not one file per target beside it.
        (build / "CMakeGraphVizOptions.cmake").write_text(
            "set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)\nset(GRAPHVIZ_GENERATE_DEPENDERS FALSE)\n")
        command = [cmake, "-S", str(source), "-B", str(build), f"--graphviz={build}/graph.dot",
                   "-DGATEHOUSE_TESTS=OFF", "-DGATEHOUSE_BENCH=OFF"]
        if generator:
            command += ["-G", generator]
        if cxx:
            command.append(f"-DCMAKE_CXX_COMPILER={cxx}")
        configured = subprocess.run(command, capture_output=True, text=True)
        if configured.returncode != 0:
            sys.exit(f"configuring {source} failed:\n{configured.stdout}{configured.stderr}")
        dot = (build / "graph.dot").read_text()
    names, edges = {}, set()
    for line in dot.splitlines():
        if m := NODE.match(line):
            # A label is the target's name, then its ALIAS in parentheses.
            names[m[1]] = m[2].split("\\n")[0]
        elif m := EDGE.match(line):
            edges.add((names[m[1]], names[m[2]], VISIBILITY.get(m[3], m[3])))
    return edges


def layered_edges(edges):
    """The edges between our targets as (layer, layer, visibility); errors for unknown targets."""
    errors, layered = [], set()
    for source, target, visibility in sorted(edges):
        ours = [n for n in (source, target) if n.startswith("gatehouse") and n not in IGNORED]
        unknown = [n for n in ours if n not in LAYERS]
        errors += [f"{n}: a target of ours without a layer; add it to LAYERS in {__file__}"
                   for n in unknown]
        if len(ours) == 2 and not unknown:
            layered.add((LAYERS[source], LAYERS[target], visibility))
    return layered, sorted(set(errors))


def upward_edges(layered):
    def allowed(layer):
        below = ", ".join(sorted(MAY_LINK[layer]))
        return f"only {below}" if below else "none of our targets"
    return [f"{a} -> {b}: {a} may link {allowed(a)}"
            for a, b, _ in sorted(layered) if b not in MAY_LINK[a]]


def render(layered):
    """The graph as README.md shows it: one line per layer, top first."""
    order = list(MAY_LINK)
    width = max(len(layer) for layer in order)
    lines = []
    for layer in order:
        links = sorted(((b, v) for a, b, v in layered if a == layer),
                       key=lambda e: order.index(e[0]))
        by_visibility = [f"{v}: " + ", ".join(b for b, w in links if w == v)
                         for v in dict.fromkeys(v for _, v in links)]
        lines.append(f"{layer:<{width}} -> " + "; ".join(by_visibility) if links else layer)
    return "```\n" + "\n".join(lines) + "\n```"


def main():
    here = pathlib.Path(__file__).resolve()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=pathlib.Path, default=here.parents[2])
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--generator", default="Ninja")
    parser.add_argument("--cxx", help="the C++ compiler the scratch tree is configured with")
    parser.add_argument("--write-readme", action="store_true",
                        help="rewrite the graph in README.md instead of checking it")
    args = parser.parse_args()

    layered, errors = layered_edges(read_graph(args.source, args.cmake, args.generator, args.cxx))
    errors += upward_edges(layered)
    graph = render(layered)
    print(graph)

    readme_path = args.source / "README.md"
    readme = readme_path.read_text()
    begin, end = readme.find(BEGIN), readme.find(END)
    if begin < 0 or end < begin:
        errors.append(f"README.md lacks the lines {BEGIN} and {END} around the graph")
    else:
        shown = readme[begin + len(BEGIN):end].strip()
        if args.write_readme:
            readme_path.write_text(f"{readme[:begin + len(BEGIN)]}\n{graph}\n{readme[end:]}")
        elif shown != graph:
            errors.append("README.md shows another graph; regenerate it with "
                          "python3 tests/layering/layering_test.py --write-readme")
    for error in errors:
        print(f"FAIL: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
