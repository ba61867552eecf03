#!/usr/bin/env python3
"""Prints an ingest run's timeline, interval by interval (benchmarks/RESULTS.md, "fifteenth pass").

    TIMELINE=20 benchmarks/ingest-run.sh NAME 0 600
    python3 benchmarks/timeline.py /tmp/segengine-runs/NAME/timeline [SAMPLES_PER_ROW]

Each file the run saved holds the engine's metrics at one moment; each row below is the difference between two of
them, SAMPLES_PER_ROW samples apart (default 3, one minute with TIMELINE=20). Columns:
  from, to      seconds since the load test's t=0
  events/s      events applied (segengine_ingest_events_total)
  engine, pg, load   cores used by the engine, PostgreSQL (postmaster, live children and the children it reaped), the load test
  us/event      engine CPU per applied event
  gc%           share of the interval the runtime paused for collections
  g0 g1 g2      collections of each generation
  KiB/event     engine heap allocation per applied event
  gen2 frag2 loh   generation 2 (with its fragmentation) and large-object heap after the last collection, GB
  consumers     consumers held in memory, thousands
  rounds/s      consumer-bucket ingest rounds finished
  read apply append publish   ms per round in each step (summed over rounds that run at once)
  log reads/s   event-log read statements (consumers read back into memory)
  append ms     ms per event-log append statement
  shard/s       consumer updates sent to the shards
  shard busy    share of the interval the brands' shard queues spent sending and waiting (near 1: the shard holds the ingest back)
"""
import glob
import re
import sys


def load(directory):
    samples = []
    for path in sorted(glob.glob(directory + '/*.txt')):
        lines = open(path).read().splitlines()
        if len(lines) < 5:
            continue
        head = lines[0].split()
        sample = {'t': float(head[2]), 'engine': int(head[4]), 'postgres': int(head[6]), 'loadtest': int(head[8])}
        for line in lines[1:]:
            key, value = line.rsplit(' ', 1)
            name = key.split('{')[0]
            labels = re.findall(r'(step|gc_heap_generation)="([^"]+)"', key)
            if labels:
                name_labelled = name + ':' + ','.join(v for _, v in labels)
                sample[name_labelled] = sample.get(name_labelled, 0.0) + float(value)
            sample[name] = sample.get(name, 0.0) + float(value)
        samples.append(sample)
    return samples


def main():
    samples = load(sys.argv[1])
    step = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"{'from':>5} {'to':>5} {'events/s':>8} {'engine':>6} {'pg':>5} {'load':>5} {'us/event':>8} {'gc%':>5} "
          f"{'g0':>3} {'g1':>3} {'g2':>3} {'KiB/event':>9} {'gen2':>5} {'frag2':>5} {'loh':>5} {'consumers':>9} "
          f"{'rounds/s':>8} {'read':>6} {'apply':>6} {'append':>7} {'publish':>7} {'log reads/s':>11} {'append ms':>9} "
          f"{'shard/s':>7} {'shard busy':>10}")
    for i in range(0, len(samples) - step, step):
        a, b = samples[i], samples[i + step]
        seconds = b['t'] - a['t']

        def delta(key):
            return b.get(key, 0.0) - a.get(key, 0.0)

        events = max(delta('segengine_ingest_events_total'), 1)
        rounds = max(delta('segengine_consumers_rounds_total'), 1)
        appends = max(delta('segengine_event_log_append_statements_total'), 1)
        pg = (b['postgres'] - a['postgres']) / 100 / seconds
        print(f"{a['t']:5.0f} {b['t']:5.0f} {events / seconds:8.0f} {(b['engine'] - a['engine']) / 100 / seconds:6.2f} "
              f"{max(pg, 0):5.2f} {(b['loadtest'] - a['loadtest']) / 100 / seconds:5.2f} "
              f"{(b['engine'] - a['engine']) * 1e4 / events:8.1f} {100 * delta('dotnet_gc_pause_time_seconds_total') / seconds:5.1f} "
              f"{delta('dotnet_gc_collections_total:gen0'):3.0f} {delta('dotnet_gc_collections_total:gen1'):3.0f} "
              f"{delta('dotnet_gc_collections_total:gen2'):3.0f} "
              f"{delta('dotnet_gc_heap_total_allocated_bytes_total') / 1024 / events:9.2f} "
              f"{b.get('dotnet_gc_last_collection_heap_size_bytes:gen2', 0) / 1e9:5.2f} "
              f"{b.get('dotnet_gc_last_collection_heap_fragmentation_size_bytes:gen2', 0) / 1e9:5.2f} "
              f"{b.get('dotnet_gc_last_collection_heap_size_bytes:loh', 0) / 1e9:5.2f} "
              f"{b.get('segengine_consumers_in_memory', 0) / 1e3:9.0f} {rounds / seconds:8.0f} "
              f"{1e3 * delta('segengine_consumers_round_time_seconds_total:read') / rounds:6.1f} "
              f"{1e3 * delta('segengine_consumers_round_time_seconds_total:apply') / rounds:6.2f} "
              f"{1e3 * delta('segengine_consumers_round_time_seconds_total:append') / rounds:7.1f} "
              f"{1e3 * delta('segengine_consumers_round_time_seconds_total:publish') / rounds:7.1f} "
              f"{delta('segengine_event_log_read_statements_total') / seconds:11.1f} "
              f"{1e3 * delta('segengine_event_log_append_time_seconds_total') / appends:9.1f} "
              f"{delta('segengine_shard_feed_sent_total') / seconds:7.0f} "
              f"{delta('segengine_shard_feed_send_time_seconds_total') / seconds:10.2f}")


if __name__ == '__main__':
    main()
