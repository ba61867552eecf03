namespace SegmentEngine.Domain.Consumers;

public sealed partial class ConsumerState
{
    /// <summary>
    /// The held events' id keys with their times (UTC ticks). Most consumers hold a handful of events, so up to
    /// <see cref="SmallLimit"/> entries live in one small array searched in order (24 bytes an entry, made on the first
    /// event); past that, in a dictionary. An empty or small set costs no dictionary object, no bucket array and no
    /// entry padding: about 180 bytes less for a consumer with one held event than a dictionary of its own (the
    /// consumer-memory benchmark).
    /// </summary>
    private struct HeldIds
    {
        /// <summary>Entries kept in the small array before moving to a dictionary.</summary>
        public const int SmallLimit = 8;

        private HeldEntry[]? _small;
        private int _smallCount;
        private Dictionary<HeldId, long>? _large;

        public readonly int Count => _large?.Count ?? _smallCount;

        public readonly bool Contains(HeldId key)
        {
            if (_large is not null)
            {
                return _large.ContainsKey(key);
            }

            for (var i = 0; i < _smallCount; i++)
            {
                if (_small![i].Key.Equals(key))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Adds the key, or sets its time when held already.</summary>
        public void Set(HeldId key, long ticks)
        {
            if (_large is not null)
            {
                _large[key] = ticks;
                return;
            }

            for (var i = 0; i < _smallCount; i++)
            {
                if (_small![i].Key.Equals(key))
                {
                    _small[i] = new HeldEntry(key, ticks);
                    return;
                }
            }

            if (_smallCount == SmallLimit)
            {
                _large = new Dictionary<HeldId, long>(SmallLimit * 2);
                for (var i = 0; i < _smallCount; i++)
                {
                    _large.Add(_small![i].Key, _small[i].Ticks);
                }

                _large.Add(key, ticks);
                _small = null;
                _smallCount = 0;
                return;
            }

            if (_small is null || _smallCount == _small.Length)
            {
                // 1, 2, 4, 8: a consumer with one event keeps one entry.
                Array.Resize(ref _small, _small is null ? 1 : _small.Length * 2);
            }

            _small[_smallCount++] = new HeldEntry(key, ticks);
        }

        /// <summary>Removes the entries whose time is before <paramref name="cutoffTicks"/>; returns how many.</summary>
        public int RemoveBefore(long cutoffTicks)
        {
            if (_large is not null)
            {
                List<HeldId>? stale = null;
                foreach (var (key, ticks) in _large)
                {
                    if (ticks < cutoffTicks)
                    {
                        (stale ??= []).Add(key);
                    }
                }

                foreach (var key in stale ?? [])
                {
                    _large.Remove(key);
                }

                return stale?.Count ?? 0;
            }

            var kept = 0;
            for (var i = 0; i < _smallCount; i++)
            {
                if (_small![i].Ticks >= cutoffTicks)
                {
                    _small[kept++] = _small[i];
                }
            }

            var removed = _smallCount - kept;
            if (_small is not null)
            {
                Array.Clear(_small, kept, removed);
            }

            _smallCount = kept;
            return removed;
        }

        public void Clear() => this = default;
    }

    private readonly record struct HeldEntry(HeldId Key, long Ticks);
}
