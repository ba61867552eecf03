#!/usr/bin/env python3
"""Summarises a perf CPU profile of the engine (benchmarks/RESULTS.md, "ninth pass").

Record (engine started with DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0, so that JIT-compiled code is in
anonymous memory that /tmp/perf-PID.map names):
    perf record -e cpu-clock -F 499 -g -p PID -o run.perf -- sleep 20
    perf script -i run.perf -F ip,sym,dso > run.script
    python3 benchmarks/perf-summary.py /tmp/perf-PID.map run.script [METHOD_REGEX]

Prints each sample's thread class (managed code's own time, runtime-only threads such as the collector's, the JIT,
kernel and libc under managed frames, ...), self time by assembly, and the inclusive share of every method whose
name matches METHOD_REGEX (default: the project's own), counting a method once per sample whatever its tier.
"""
import bisect
import collections
import re
import sys

TIERS = re.compile(r'\[(OptimizedTier1OSR|OptimizedTier1|Optimized|InstrumentedTierOptimized|InstrumentedTier|QuickJitted|Tier0|Tier1|PreJIT)\]')


def load_map(path):
    rows = []
    for line in open(path):
        parts = line.rstrip('\n').split(' ', 2)
        if len(parts) == 3:
            start = int(parts[0], 16)
            rows.append((start, start + int(parts[1], 16), parts[2]))
    rows.sort()
    return [r[0] for r in rows], rows


def load_samples(path, starts, rows):
    samples, current = [], None
    for line in open(path, errors='replace'):
        if not line.strip():
            if current:
                samples.append(current)
            current = None
            continue
        m = re.match(r'\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$', line)
        if not m:
            continue
        ip, sym, dso = int(m.group(1), 16), re.sub(r'\+0x[0-9a-f]+$', '', m.group(2)), m.group(3)
        if not sym or sym == '[unknown]':
            i = bisect.bisect_right(starts, ip) - 1
            sym = rows[i][2] if i >= 0 and ip < rows[i][1] else '[' + dso.split('/')[-1] + ']'
        current = (current or []) + [sym]
    if current:
        samples.append(current)
    return samples


def is_managed(frame):
    return '[' in frame and not frame.startswith('[') and not frame.startswith('stub ')


def thread_class(stack):
    top = stack[0]
    if any(is_managed(f) for f in stack):
        if top.startswith('[libcoreclr'):
            return 'runtime helpers called from managed code'
        if top.startswith('[libclrjit'):
            return 'JIT called from managed code'
        if is_managed(top):
            return 'managed code, own time'
        return 'kernel and libc under managed frames'
    if '[libclrjit.so]' in stack:
        return 'JIT thread'
    if any(f.startswith('rd_') for f in stack):
        return 'librdkafka'
    if '[libcoreclr.so]' in stack:
        return 'runtime-only threads (collector, ...)'
    return 'other native and kernel'


def method(frame):
    frame = TIERS.sub('', frame)
    m = re.search(r'\] ([A-Za-z0-9_.`+<>]+::[A-Za-z0-9_.`<>|]+)\(', frame)
    return m.group(1) if m else frame[:100]


def main():
    starts, rows = load_map(sys.argv[1])
    samples = [s for s in load_samples(sys.argv[2], starts, rows) if s]
    pattern = re.compile(sys.argv[3] if len(sys.argv) > 3 else r'^SegmentEngine\.')
    n = len(samples)
    print(f'{n} samples')
    print('\nby thread class')
    for name, count in collections.Counter(thread_class(s) for s in samples).most_common():
        print(f'{100 * count / n:6.1f}%  {name}')
    print('\nself time by assembly (top 15)')
    by_assembly = collections.Counter()
    for s in samples:
        m = re.search(r'\[([A-Za-z0-9_.]+)\]\s', s[0]) if is_managed(s[0]) else None
        by_assembly[m.group(1) if m else s[0] if s[0].startswith('[') else 'kernel/libc'] += 1
    for name, count in by_assembly.most_common(15):
        print(f'{100 * count / n:6.1f}%  {name}')
    print(f'\ninclusive, methods matching {pattern.pattern} (async state machines excluded: their continuations nest)')
    inclusive = collections.Counter()
    for s in samples:
        for name in {method(f) for f in s}:
            inclusive[name] += 1
    for name, count in inclusive.most_common():
        if pattern.search(name) and 'd__' not in name and 'MoveNext' not in name and 100 * count / n >= 0.5:
            print(f'{100 * count / n:6.1f}%  {name}')


if __name__ == '__main__':
    main()
