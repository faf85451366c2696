"""python -m compat.differential [-k PATTERN] [-j JOBS] [-v] [-d] [-s]

Starts kgw and Apache Kafka once, runs every scenario of the corpus against
both, compares their answers and ends with the line

    differential: N scenarios, M identical, K documented differences, 0 unexplained

Exit status 1 when an answer differs unexplained, a scenario could not be
run, an entry of the table of differences is still pending, or, in a full
run, an entry explained nothing (a stale entry hides nothing but misleads
its reader).
"""

import argparse
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from protocol.error_codes import ErrorCode

from .brokers import both_brokers
from .compare import Diff, diff_outcomes, requests_differ
from .corpus import SCENARIOS
from .differences import DIFFERENCES, entry_for, explain
from .runner import Side
from .scenario import Scenario


@dataclass
class Result:
    scenario: Scenario
    used: set[str] = field(default_factory=set)
    unexplained: list[Diff] = field(default_factory=list)
    # Every differing field and the key of the entry that explains it, for -d.
    explained: list[tuple[Diff, str]] = field(default_factory=list)
    error: str | None = None
    # What each broker answered, for -s.
    answers: tuple = ()
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.unexplained:
            return "unexplained"
        return "documented" if self.used else "identical"


def run_scenario(scenario: Scenario, kgw: Side, kafka: Side, pool: ThreadPoolExecutor) -> Result:
    started = time.monotonic()
    result = _run(scenario, kgw, kafka, pool)
    result.seconds = time.monotonic() - started
    return result


def _run(scenario: Scenario, kgw: Side, kafka: Side, pool: ThreadPoolExecutor) -> Result:
    result = Result(scenario)
    on_kafka = pool.submit(kafka.run, scenario)
    try:
        kgw_outcomes = kgw.run(scenario)
    except Exception:
        result.error = "on kgw: " + traceback.format_exc()
    try:
        kafka_outcomes = on_kafka.result()
    except Exception:
        result.error = (result.error or "") + "on kafka: " + traceback.format_exc()
    if result.error:
        return result
    result.answers = (kgw_outcomes, kafka_outcomes)
    mismatched = requests_differ(kgw_outcomes, kafka_outcomes)
    if mismatched:
        result.error = f"the requests of steps {mismatched} were not byte-identical"
        return result
    diffs = diff_outcomes(kgw_outcomes, kafka_outcomes)
    result.used, result.unexplained = explain(scenario.name, diffs)
    result.explained = [(d, entry.key) for d in diffs if (entry := entry_for(scenario.name, d)) is not None]
    return result


def show(value, path: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and path.endswith("error_code"):
        try:
            return f"{value} {ErrorCode(value).name}"
        except ValueError:
            return str(value)
    if isinstance(value, bytes) and len(value) > 40:
        return f"{value[:40]!r}... ({len(value)} bytes)"
    text = repr(value)
    return text if len(text) < 400 else text[:400] + "..."


def _show_diff(d: Diff) -> str:
    return (f"step {d.step} {d.label}: {d.path or '(answer)'}: "
            f"kgw {show(d.kgw, d.path)} / kafka {show(d.kafka, d.path)}")


def report(results: list[Result], verbose: bool, answers: bool, documented: bool = False) -> int:
    for result in results:
        name = result.scenario.name
        if answers and result.answers:
            for broker, outcomes in zip(("kgw", "kafka"), result.answers):
                for i, outcome in enumerate(outcomes):
                    print(f"{name} step {i} {outcome.label} from {broker}: {outcome.value!r}")
        if result.error:
            print(f"ERROR {name}\n  {result.error.strip()}".replace("\n", "\n  "))
        elif result.unexplained:
            print(f"UNEXPLAINED {name}" + (f" (documented: {', '.join(sorted(result.used))})"
                                          if result.used else ""))
            for d in result.unexplained:
                print(f"  {_show_diff(d)}")
        elif verbose or (documented and result.used):
            print(f"{result.status} {name}" + (f": {', '.join(sorted(result.used))}" if result.used else ""))
        if documented:
            for d, key in result.explained:
                print(f"  [{key}] {_show_diff(d)}")
    used: dict[str, int] = {}
    for result in results:
        for key in result.used:
            used[key] = used.get(key, 0) + 1
    for entry in DIFFERENCES:
        if entry.key in used:
            print(f"documented {entry.key}: {used[entry.key]} scenario(s)")
    pending = [d for d in DIFFERENCES if d.pending]
    for entry in pending:
        print(f"PENDING: the documented difference {entry.key} is not reconciled: {entry.pending}")
    complete = len(results) == len(SCENARIOS)
    stale = [d for d in DIFFERENCES if d.key not in used] if complete else []
    for entry in stale:
        print(f"STALE: the documented difference {entry.key} explained nothing in this run")
    counts = {status: sum(r.status == status for r in results)
              for status in ("identical", "documented", "unexplained", "error")}
    line = (f"differential: {len(results)} scenarios, {counts['identical']} identical, "
            f"{counts['documented']} documented differences, {counts['unexplained']} unexplained")
    if counts["error"]:
        line += f", {counts['error']} could not be run"
    print(line)
    failed = counts["unexplained"] or counts["error"] or pending or stale
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compat.differential",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="patterns", action="append", default=[],
                        help="run only the scenarios whose names match this glob (repeatable)")
    parser.add_argument("-j", dest="jobs", type=int, default=4, help="scenarios run at once")
    parser.add_argument("-v", dest="verbose", action="store_true", help="list every scenario's result")
    parser.add_argument("-d", dest="documented", action="store_true",
                        help="list the fields that differ in documented differences, with the entry of each")
    parser.add_argument("-s", dest="answers", action="store_true", help="print both brokers' answers")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="run the brokers in DIR (wiped first) and leave it, with Kafka's log")
    args = parser.parse_args(argv)
    scenarios = [s for s in SCENARIOS
                 if not args.patterns or any(fnmatchcase(s.name, p) for p in args.patterns)]
    started = time.monotonic()
    with both_brokers(args.keep) as (kgw_broker, kafka_broker):
        kgw = Side("kgw", kgw_broker.bootstrap, str(Path(kgw_broker.data_dir).resolve()))
        kafka = Side("kafka", kafka_broker.bootstrap, str(Path(kafka_broker.data_dir).resolve()))
        with ThreadPoolExecutor(args.jobs) as sides, ThreadPoolExecutor(args.jobs) as runs:
            results = list(runs.map(lambda s: run_scenario(s, kgw, kafka, sides),
                                    [s for s in scenarios if not s.alone]))
            results += [run_scenario(s, kgw, kafka, sides) for s in scenarios if s.alone]
    slowest = sorted(results, key=lambda r: -r.seconds)[:5]
    print(f"({len(scenarios)} scenarios in {time.monotonic() - started:.1f} s, brokers included; slowest: "
          + ", ".join(f"{r.scenario.name} {r.seconds:.1f} s" for r in slowest) + ")", file=sys.stderr)
    return report(results, args.verbose, args.answers, args.documented)


if __name__ == "__main__":
    sys.exit(main())
