"""python -m raftviz.scenarios check [ids...] [--scenarios DIR]

Runs every scenario (or the ones named) from start to end and reports each
as PASS or FAIL with the checks that failed. Exit status 1 if any failed.
"""
import argparse
import sys

from . import Library


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m raftviz.scenarios")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run scenarios and check their claims")
    check.add_argument("ids", nargs="*", help="scenario ids (default: all)")
    check.add_argument("--scenarios", help="a folder of your own scenario files to load too")
    sub.add_parser("list", help="list the scenarios")
    args = parser.parse_args(argv)
    library = Library(args.scenarios) if getattr(args, "scenarios", None) else Library.from_environment()
    names, problems = library.names, library.problems
    for problem in problems():
        print(f"NOT LOADED {problem}")
    if args.command == "list":
        for name in names():
            print(name)
        return 0
    unknown = [i for i in args.ids if i not in names()]
    if unknown:
        print(f"Unknown scenario(s): {', '.join(unknown)}. Known: {', '.join(names())}", file=sys.stderr)
        return 2
    failed = 0
    for name in args.ids or names():
        sc = library.load(name)
        found = sc.check()
        print(f"{'PASS' if not found else 'FAIL'} {name} ({len(sc.steps)} steps)")
        for problem in found:
            print(f"    {problem}")
        failed += bool(found)
    print(f"{len(args.ids or names()) - failed} passed, {failed} failed")
    return 1 if failed or problems() else 0


if __name__ == "__main__":
    sys.exit(main())
