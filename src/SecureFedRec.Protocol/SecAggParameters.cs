using SecureFedRec.Protocol.Graph;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;
using WireGraphKind = SecureFedRec.Protocol.Wire.GraphKind;
using WireSuite = SecureFedRec.Protocol.Wire.KeyAgreementSuite;

namespace SecureFedRec.Protocol;

/// <summary>
/// The validated public parameters of one secure-aggregation round (secagg.md §"Parameters"): cohort ids, threshold t,
/// vector length d, modulus 2^b, threat mode, key-agreement suite, neighbour graph and an opaque binding (model version,
/// DP parameters). Their digest is the first input of the session id.
/// </summary>
/// <remarks>
/// <para>Limits: 2 ≤ n ≤ 2^20 clients with strictly increasing ids in [1, 2^31); 1 ≤ d ≤ <see cref="MaxDimension"/>;
/// 1 ≤ b ≤ 32; the full graph has degree n−1; a Harary graph has degree min(2, n−1) ≤ k ≤ n−1 (odd k needs even n);
/// 2 ≤ t ≤ k+1; in malicious mode 2t &gt; k+1 (a strict majority of every neighbourhood, so a coordinator cannot collect
/// t consistency signatures on two different survivor lists); binding ≤ 1024 bytes.</para>
/// <para>Immutable and thread-safe. <see cref="TryCreate"/> returns a reason instead of throwing;
/// <see cref="Create"/> throws <see cref="ArgumentException"/>.</para>
/// </remarks>
public sealed class SecAggParameters
{
    /// <summary>Largest vector length accepted (2^27 elements, 512 MiB of 32-bit words).</summary>
    public const int MaxDimension = 1 << 27;

    /// <summary>Largest cohort accepted.</summary>
    public const int MaxClients = 1 << 20;

    /// <summary>Largest opaque binding accepted, in bytes.</summary>
    public const int MaxBindingLength = 1024;

    private readonly int[] _ids;
    private readonly byte[] _binding;
    private readonly byte[] _digest;

    private SecAggParameters(ulong round, int[] ids, int threshold, int dimension, int bits, ThreatMode mode,
        Crypto.KeyAgreementSuite suite, Graph.GraphKind graph, int degree, byte[] binding)
    {
        RoundNumber = round;
        _ids = ids;
        Threshold = threshold;
        Dimension = dimension;
        Bits = bits;
        Mode = mode;
        Suite = suite;
        GraphKind = graph;
        Degree = degree;
        _binding = binding;
        _digest = ComputeDigest();
    }

    /// <summary>Round number r (every message carries it).</summary>
    public ulong RoundNumber { get; }

    /// <summary>Cohort client ids, strictly increasing.</summary>
    public IReadOnlyList<int> ClientIds => _ids;

    /// <summary>Number of clients n.</summary>
    public int Count => _ids.Length;

    /// <summary>Shamir threshold t.</summary>
    public int Threshold { get; }

    /// <summary>Vector length d.</summary>
    public int Dimension { get; }

    /// <summary>Bits b of the modulus 2^b.</summary>
    public int Bits { get; }

    /// <summary>Threat mode.</summary>
    public ThreatMode Mode { get; }

    /// <summary>Key-agreement suite of both client key pairs.</summary>
    public Crypto.KeyAgreementSuite Suite { get; }

    /// <summary>Neighbour-graph construction.</summary>
    public Graph.GraphKind GraphKind { get; }

    /// <summary>Graph degree k (n−1 for the full graph).</summary>
    public int Degree { get; }

    /// <summary>Opaque binding bytes (copy).</summary>
    public ReadOnlySpan<byte> Binding => _binding;

    /// <summary>Whether the malicious-coordinator machinery (signatures, consistency check) is on.</summary>
    public bool IsMalicious => Mode == ThreatMode.Malicious;

    /// <summary>Bit mask 2^b − 1.</summary>
    public uint ValueMask => Bits == 32 ? uint.MaxValue : (1u << Bits) - 1;

    /// <summary>SHA-256 parameter digest P (secagg.md §"Parameter digest").</summary>
    public ReadOnlySpan<byte> Digest => _digest;

    internal byte[] DigestArray => _digest;

    /// <summary>Creates validated parameters or throws <see cref="ArgumentException"/> with the reason.</summary>
    public static SecAggParameters Create(ulong roundNumber, IReadOnlyList<int> clientIds, int threshold, int dimension,
        int bits, ThreatMode mode = ThreatMode.HonestButCurious,
        Crypto.KeyAgreementSuite suite = Crypto.KeyAgreementSuite.X25519,
        Graph.GraphKind graph = Graph.GraphKind.Full, int? degree = null, ReadOnlySpan<byte> binding = default)
    {
        ArgumentNullException.ThrowIfNull(clientIds);
        return TryCreate(roundNumber, clientIds, threshold, dimension, bits, mode, suite, graph,
                degree ?? clientIds.Count - 1, binding, out SecAggParameters? parameters, out string? error)
            ? parameters
            : throw new ArgumentException(error, nameof(clientIds));
    }

    /// <summary>Validates and creates parameters; false with a human-readable reason otherwise.</summary>
    public static bool TryCreate(ulong roundNumber, IReadOnlyList<int> clientIds, int threshold, int dimension, int bits,
        ThreatMode mode, Crypto.KeyAgreementSuite suite, Graph.GraphKind graph, int degree, ReadOnlySpan<byte> binding,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SecAggParameters? parameters,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        parameters = null;
        error = Check(clientIds, threshold, dimension, bits, mode, suite, graph, degree, binding.Length);
        if (error is not null)
        {
            return false;
        }

        parameters = new SecAggParameters(roundNumber, clientIds.ToArray(), threshold, dimension, bits, mode, suite,
            graph, degree, binding.ToArray());
        return true;
    }

    /// <summary><see cref="TryCreate"/> that takes ownership of <paramref name="ids"/> (a fresh array nobody else holds): no second copy.</summary>
    private static bool TryCreateOwned(ulong roundNumber, int[] ids, int threshold, int dimension, int bits,
        ThreatMode mode, Crypto.KeyAgreementSuite suite, Graph.GraphKind graph, int degree, ReadOnlySpan<byte> binding,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SecAggParameters? parameters,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        parameters = null;
        error = Check(ids, threshold, dimension, bits, mode, suite, graph, degree, binding.Length);
        if (error is not null)
        {
            return false;
        }

        parameters = new SecAggParameters(roundNumber, ids, threshold, dimension, bits, mode, suite, graph, degree, binding.ToArray());
        return true;
    }

    /// <summary>Parses and validates the wire form.</summary>
    public static bool TryFromWire(RoundParameters? wire,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SecAggParameters? parameters,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        parameters = null;
        if (wire is null)
        {
            error = "Missing round parameters.";
            return false;
        }

        // Every client parses the cohort from its BeginRound: one array of the ids, range-checked as it is filled (no LINQ).
        var ids = new int[wire.ClientIds.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            uint id = wire.ClientIds[i];
            if (id == 0 || id > int.MaxValue)
            {
                error = "A numeric field is out of range.";
                return false;
            }

            ids[i] = (int)id;
        }

        if (wire.Threshold > int.MaxValue
            || wire.Dimension > int.MaxValue || wire.Bits > 32 || wire.GraphDegree > int.MaxValue)
        {
            error = "A numeric field is out of range.";
            return false;
        }

        Crypto.KeyAgreementSuite suite;
        switch (wire.Suite)
        {
            case WireSuite.X25519: suite = Crypto.KeyAgreementSuite.X25519; break;
            case WireSuite.P256: suite = Crypto.KeyAgreementSuite.P256; break;
            default: error = "Unknown key-agreement suite."; return false;
        }

        Graph.GraphKind graph;
        switch (wire.GraphKind)
        {
            case WireGraphKind.Full: graph = Graph.GraphKind.Full; break;
            case WireGraphKind.Harary: graph = Graph.GraphKind.Harary; break;
            default: error = "Unknown graph kind."; return false;
        }

        return TryCreateOwned(wire.RoundNumber, ids, (int)wire.Threshold,
            (int)wire.Dimension, (int)wire.Bits, wire.ThreatMode, suite, graph, (int)wire.GraphDegree,
            wire.Binding.Span, out parameters, out error);
    }

    /// <summary>The wire form.</summary>
    public RoundParameters ToWire()
    {
        var wire = new RoundParameters
        {
            RoundNumber = RoundNumber,
            Threshold = (uint)Threshold,
            Dimension = (uint)Dimension,
            Bits = (uint)Bits,
            ThreatMode = Mode,
            Suite = Suite == Crypto.KeyAgreementSuite.X25519 ? WireSuite.X25519 : WireSuite.P256,
            GraphKind = GraphKind == Graph.GraphKind.Full ? WireGraphKind.Full : WireGraphKind.Harary,
            GraphDegree = (uint)Degree,
            Binding = Google.Protobuf.ByteString.CopyFrom(_binding),
        };
        wire.ClientIds.Capacity = _ids.Length;
        foreach (int id in _ids)
        {
            wire.ClientIds.Add((uint)id);
        }

        return wire;
    }

    /// <summary>Whether <paramref name="clientId"/> is in the cohort.</summary>
    public bool Contains(int clientId) => IndexOf(clientId) >= 0;

    /// <summary>The position of <paramref name="clientId"/> in the cohort, or −1: a binary search of the strictly increasing ids
    /// (every client builds these parameters; an n-entry index map per client was ≈ 9 MiB of allocation per round at n = 1,000).</summary>
    internal int IndexOf(int clientId)
    {
        int index = Array.BinarySearch(_ids, clientId);
        return index >= 0 ? index : -1;
    }

    internal int IdAt(int index) => _ids[index];

    /// <summary>Whether two parameter sets are the same round (digest equality).</summary>
    public bool SameAs(SecAggParameters other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Primitives.FixedTimeEquals(_digest, other._digest);
    }

    /// <summary>Builds the neighbour graph; for Harary the relabelling seed comes from the session id.</summary>
    /// <summary>Whether the round runs the relabelling commit–reveal (Harary graphs; secagg.md §6.0a).</summary>
    internal bool UsesRelabelling => GraphKind == Graph.GraphKind.Harary;

    /// <summary>The neighbour graph; <paramref name="relabelSeed"/> (Harary only) is <see cref="Derivations.RelabelSeed"/>.</summary>
    internal NeighbourGraph BuildGraph(ReadOnlySpan<byte> relabelSeed) =>
        GraphKind == Graph.GraphKind.Full
            ? NeighbourGraph.Full(Count)
            : NeighbourGraph.Harary(Count, Degree, relabelSeed);

    private static string? Check(IReadOnlyList<int> ids, int t, int d, int b, ThreatMode mode,
        Crypto.KeyAgreementSuite suite, Graph.GraphKind graph, int k, int bindingLength)
    {
        int n = ids.Count;
        if (n < 2 || n > MaxClients)
        {
            return $"The cohort must have 2..{MaxClients} clients, got {n}.";
        }

        for (int i = 0; i < n; i++)
        {
            if (ids[i] < 1 || (i > 0 && ids[i] <= ids[i - 1]))
            {
                return "Client ids must be strictly increasing and in [1, 2^31).";
            }
        }

        if (d < 1 || d > MaxDimension)
        {
            return $"The dimension must be in [1, {MaxDimension}], got {d}.";
        }

        if (b < 1 || b > 32)
        {
            return $"Bits must be in [1, 32], got {b}.";
        }

        if (mode is not (ThreatMode.HonestButCurious or ThreatMode.Malicious))
        {
            return "Unknown threat mode.";
        }

        if (suite is not (Crypto.KeyAgreementSuite.X25519 or Crypto.KeyAgreementSuite.P256))
        {
            return "Unknown key-agreement suite.";
        }

        switch (graph)
        {
            case Graph.GraphKind.Full when k != n - 1:
                return $"The full graph has degree n-1 = {n - 1}, got {k}.";
            case Graph.GraphKind.Full:
                break;
            case Graph.GraphKind.Harary when k < Math.Min(2, n - 1) || k > n - 1 || ((k & 1) == 1 && (n & 1) == 1):
                // k = 1 is a disconnected matching for n > 2; NeighbourGraph.Harary refuses it, so refuse it here, early.
                return $"A Harary graph needs min(2, n-1) <= k <= n-1 and not both k and n odd, got k={k}, n={n}.";
            case Graph.GraphKind.Harary:
                break;
            default:
                return "Unknown graph kind.";
        }

        if (t < 2 || t > k + 1)
        {
            return $"The threshold must be in [2, k+1] = [2, {k + 1}], got {t}.";
        }

        if (mode == ThreatMode.Malicious && 2 * t <= k + 1)
        {
            return $"Malicious mode needs 2t > k+1 (t > {(k + 1) / 2}), got t={t}.";
        }

        return bindingLength > MaxBindingLength ? $"The binding must be at most {MaxBindingLength} bytes." : null;
    }

    /// <summary>
    /// P = SHA-256(Enc("secagg/params", u64be(r), ids, t, d, b, mode, suite, graph, k, binding)), the ids part being the
    /// concatenation of u32be(id): streamed into the hash (the same bytes as <c>Encoder...AddIds(ids)...Sha256()</c>,
    /// pinned by the conformance vectors), so a client parsing its BeginRound does not build the 4·n-byte encoding.
    /// </summary>
    private byte[] ComputeDigest()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(Encoder.HeaderOf(Derivations.ParametersPurpose));
        Span<byte> word = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(word, RoundNumber);
        Encoder.AppendPart(hash, word);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(word, checked((uint)(4 * _ids.Length)));
        hash.AppendData(word[..4]);
        Span<byte> chunk = stackalloc byte[256];
        for (int i = 0; i < _ids.Length;)
        {
            int count = Math.Min(chunk.Length / 4, _ids.Length - i);
            for (int j = 0; j < count; j++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(chunk.Slice(4 * j), (uint)_ids[i + j]);
            }

            hash.AppendData(chunk[..(4 * count)]);
            i += count;
        }

        foreach (uint value in (ReadOnlySpan<uint>)[(uint)Threshold, (uint)Dimension, (uint)Bits, (uint)Mode, (uint)Suite, (uint)GraphKind, (uint)Degree])
        {
            Encoder.AppendU32Part(hash, value);
        }

        Encoder.AppendPart(hash, _binding);
        return hash.GetHashAndReset();
    }
}
