using System.Buffers;
using System.Security.Cryptography;

namespace SecureFedRec.Protocol.Simulation;

/// <summary>
/// The masked-input message buffers of one in-process round (<see cref="Client.ClientOptions.MaskedVectorPool"/>): exact
/// 4·d-byte arrays, rented by a client to build its masked vector in and returned by the driver once the coordinator has
/// added the message into its running sum, so at most about <c>threads</c> buffers exist at once instead of one per client.
/// </summary>
/// <remarks>
/// <para>Private to the round's driver, never <see cref="ArrayPool{T}.Shared"/>: a buffer that held a client's masked vector
/// is never handed to another reader in the process. Every returned buffer is zeroed before it can be rented again (the
/// client overwrites every word before any of it is read, but a buffer is clean whenever it sits in the pool), and
/// <see cref="Dispose"/> zeroes and drops the free ones.</para>
/// <para>Refusals: returning an array this pool did not hand out, or the same one twice (which would let two messages alias
/// one buffer), throws <see cref="InvalidOperationException"/>; renting another length than the round's throws
/// <see cref="ArgumentOutOfRangeException"/>. Thread-safe.</para>
/// <para>Only the in-process driver uses it: a networked client's message owns its bytes (gRPC serializes it), so the same
/// <see cref="Client.ClientMaskedInputState"/> allocates a fresh array there.</para>
/// </remarks>
internal sealed class MaskedVectorBuffers : ArrayPool<byte>, IDisposable
{
    private readonly Lock _gate = new();
    private readonly int _length;
    private readonly Stack<byte[]> _free = new();
    private readonly HashSet<byte[]> _rented = new(ReferenceEqualityComparer.Instance);
    private int _peakRented;

    /// <summary>A pool of <paramref name="length"/>-byte buffers (4·d).</summary>
    public MaskedVectorBuffers(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _length = length;
    }

    /// <summary>Buffers allocated so far (pool misses): the round's message buffers that the GC sees.</summary>
    public int Allocated { get; private set; }

    /// <summary>Bytes of <see cref="Allocated"/>.</summary>
    public long AllocatedBytes => (long)Allocated * _length;

    /// <summary>Buffers rented and not returned.</summary>
    public int Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _rented.Count;
            }
        }
    }

    /// <summary>The most buffers rented at once.</summary>
    public int PeakOutstanding
    {
        get
        {
            lock (_gate)
            {
                return _peakRented;
            }
        }
    }

    /// <summary>A zeroed buffer of exactly the round's length.</summary>
    public override byte[] Rent(int minimumLength)
    {
        if (minimumLength != _length)
        {
            throw new ArgumentOutOfRangeException(nameof(minimumLength), minimumLength, $"This pool holds {_length}-byte masked-input buffers.");
        }

        lock (_gate)
        {
            if (!_free.TryPop(out byte[]? buffer))
            {
                buffer = new byte[_length];
                Allocated++;
            }

            _rented.Add(buffer);
            _peakRented = Math.Max(_peakRented, _rented.Count);
            return buffer;
        }
    }

    /// <summary>Takes a buffer back once no message refers to it; always zeroes it (<paramref name="clearArray"/> is moot).</summary>
    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        lock (_gate)
        {
            if (!_rented.Remove(array))
            {
                throw new InvalidOperationException("The buffer was not rented from this pool, or was already returned.");
            }

            CryptographicOperations.ZeroMemory(array);
            _free.Push(array);
        }
    }

    /// <summary>Zeroes and drops the free buffers (outstanding ones belong to messages that were never consumed).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            while (_free.TryPop(out byte[]? buffer))
            {
                CryptographicOperations.ZeroMemory(buffer);
            }
        }
    }
}
