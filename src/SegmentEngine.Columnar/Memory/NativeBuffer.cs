using System.Buffers;
using System.Runtime.InteropServices;

namespace SegmentEngine.Columnar.Memory;

/// <summary>A growable, zero-initialised, 64-byte aligned native buffer of unmanaged values (Arrow memory layout).</summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private T* _ptr;
    private int _capacity;

    /// <summary>Creates a buffer holding at least <paramref name="capacity"/> zeroed elements.</summary>
    public NativeBuffer(int capacity = 0)
    {
        if (capacity > 0)
        {
            Resize(capacity);
        }
    }

    /// <summary>Number of elements allocated.</summary>
    public int Capacity => _capacity;

    /// <summary>Bytes allocated.</summary>
    public long Bytes => (long)_capacity * sizeof(T);

    /// <summary>The whole buffer as a span.</summary>
    public Span<T> Span => new(_ptr, _capacity);

    /// <summary>Element by index (no bounds check beyond the span's).</summary>
    public ref T this[int index] => ref Span[index];

    /// <summary>A raw pointer to the first element (valid until the next growth).</summary>
    public T* Pointer => _ptr;

    /// <summary>Grows to at least <paramref name="capacity"/> elements (doubling), keeping contents; new elements are zero.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity <= _capacity)
        {
            return;
        }

        var next = Math.Max(capacity, Math.Max(64, _capacity * 2));
        Resize(next);
    }

    private void Resize(int capacity)
    {
        // Round the byte size up to a multiple of 64 (Arrow recommends padded buffers).
        var bytes = ((nuint)capacity * (nuint)sizeof(T) + 63) & ~(nuint)63;
        T* fresh;
        if (bytes >= HugeThreshold)
        {
            // Large columns: 2 MiB aligned and advised for transparent huge pages (fewer TLB misses in scans).
            bytes = (bytes + HugePage - 1) & ~(HugePage - 1);
            fresh = (T*)NativeMemory.AlignedAlloc(bytes, HugePage);
            if (OperatingSystem.IsLinux())
            {
                _ = Madvise(fresh, bytes, MadvHugePage);
            }
        }
        else
        {
            fresh = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        }

        NativeMemory.Clear(fresh, bytes);
        if (_ptr != null)
        {
            Buffer.MemoryCopy(_ptr, fresh, (long)bytes, (long)_capacity * sizeof(T));
            NativeMemory.AlignedFree(_ptr);
        }

        _ptr = fresh;
        _capacity = capacity;
    }

    /// <summary>The first <paramref name="length"/> elements as bytes in a <see cref="Memory{T}"/> that aliases the buffer (zero copy).</summary>
    public ReadOnlyMemory<byte> AsByteMemory(int length)
    {
        var bytes = checked(length * sizeof(T));
        return new UnmanagedMemoryManager((byte*)_ptr, bytes, this).Memory;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ptr != null)
        {
            NativeMemory.AlignedFree(_ptr);
            _ptr = null;
            _capacity = 0;
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native memory if the owner forgot to.</summary>
    ~NativeBuffer()
    {
        if (_ptr != null)
        {
            NativeMemory.AlignedFree(_ptr);
        }
    }

    private const nuint HugePage = 2 * 1024 * 1024;
    private const nuint HugeThreshold = 4 * 1024 * 1024;
    private const int MadvHugePage = 14;

    private static int Madvise(void* address, nuint length, int advice)
    {
        try
        {
            return NativeMethods.Madvise(address, length, advice);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return -1; // best effort only
        }
    }

    // Holds the owning buffer so that exported memory keeps it reachable (no finalizer frees it under a reader).
    private sealed class UnmanagedMemoryManager(byte* ptr, int length, object owner) : MemoryManager<byte>
    {
        public object Owner { get; } = owner;

        public override Span<byte> GetSpan() => new(ptr, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(ptr + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}

/// <summary>libc entry points used for memory advice.</summary>
internal static unsafe partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "madvise")]
    internal static partial int Madvise(void* address, nuint length, int advice);
}
