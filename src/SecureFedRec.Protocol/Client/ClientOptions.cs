using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// What a client brings to a round: its id, how to produce its input once the parameters are known, its randomness, and
/// (malicious mode) its enrolled identity and the roster of enrolled identity public keys.
/// </summary>
/// <remarks>
/// The <see cref="Input"/> callback must return exactly d words, each below 2^b (else <see cref="ArgumentException"/>).
/// <see cref="Policy"/> returns null to accept the parameters or a reason to refuse them (the client then aborts with
/// <c>InvalidParameters</c>). The identity key is owned by the caller (not disposed here).
/// </remarks>
public sealed class ClientOptions
{
    /// <summary>Creates options for client <paramref name="clientId"/>.</summary>
    public ClientOptions(int clientId, Func<SecAggParameters, uint[]> input)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clientId, 1);
        ArgumentNullException.ThrowIfNull(input);
        ClientId = clientId;
        Input = input;
    }

    /// <summary>This client's id in [1, 2^31).</summary>
    public int ClientId { get; }

    /// <summary>Produces the input vector (d words &lt; 2^b) once the parameters are accepted.</summary>
    public Func<SecAggParameters, uint[]> Input { get; }

    /// <summary>Randomness (null: <see cref="RandomSource.System"/>).</summary>
    public RandomSource? Random { get; init; }

    /// <summary>Local policy over the parameters: null to accept, else the refusal reason.</summary>
    public Func<SecAggParameters, string?>? Policy { get; init; }

    /// <summary>Malicious mode: this client's enrolled identity key, of either <see cref="IdentitySuite"/> (Ed25519 by
    /// default, ECDSA P-256 for the FIPS suite); it signs the advertised keys and the consistency check.</summary>
    public IdentitySigningKey? Identity { get; init; }

    /// <summary>Malicious mode: the enrolled identity public keys (each with its suite) by client id; a peer's signatures
    /// are verified under its own entry's suite.</summary>
    public IReadOnlyDictionary<int, IdentityPublicKey>? EnrolledIdentities { get; init; }

    /// <summary>
    /// In-process rounds only: the pool the masked-input message buffer (4·d bytes) is rented from instead of allocated.
    /// The host that sets it owns the message afterwards and returns the buffer to this pool once the coordinator has
    /// consumed it (<see cref="Simulation.InProcessRound"/> does, right after the coordinator added it to its sum, when no
    /// script, tamper hook or transcript can keep a reference to the message). Null: a fresh array per round.
    /// </summary>
    internal System.Buffers.ArrayPool<byte>? MaskedVectorPool { get; init; }
}

/// <summary>Entry point: the first state of a client.</summary>
public static class SecAggClient
{
    /// <summary>Returns the client's first state (<see cref="Wire.Phase.AdvertiseKeys"/>), waiting for the round parameters.</summary>
    public static ClientState Create(ClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ClientAdvertiseKeysState(new ClientContext(options));
    }
}

/// <summary>Per-round client memory shared by its states; owns and wipes every secret (secagg.md §"What a client stores").</summary>
internal sealed class ClientContext : IDisposable
{
    private bool _disposed;

    public ClientContext(ClientOptions options)
    {
        Options = options;
        Rng = options.Random ?? RandomSource.System;
    }

    public ClientOptions Options { get; }

    public int Id => Options.ClientId;

    public RandomSource Rng { get; }

    public SecAggParameters? Parameters { get; set; }

    public SecAggParameters P => Parameters ?? throw new InvalidOperationException("Parameters are not known yet.");

    public PrivateKey? CipherKey { get; set; }

    public PrivateKey? MaskKey { get; set; }

    public byte[] CipherPublicKey { get; set; } = [];

    public byte[] MaskPublicKey { get; set; } = [];

    /// <summary>Self-mask seed b_u (32 bytes; wiped on dispose).</summary>
    public byte[] SelfSeed { get; } = new byte[Primitives.SeedLength];

    public byte[] SessionId { get; set; } = [];

    /// <summary>This client's row of the neighbour graph: its neighbours' cohort indices, sorted (the whole graph is never built).</summary>
    public int[]? NeighbourRow { get; set; }

    /// <summary>Harary graphs: this client's relabelling seed r_u (32 bytes, revealed after the key list is fixed; wiped on dispose).</summary>
    public byte[] RelabelSeed { get; } = new byte[Primitives.SeedLength];

    /// <summary>Harary graphs: the commitment to <see cref="RelabelSeed"/> this client advertised.</summary>
    public byte[]? RelabelCommitment { get; set; }

    /// <summary>Harary graphs: the complete key list received in the reveal phase (ids strictly increasing; look up with
    /// <see cref="ClientKeyList.Find"/>), kept for ShareKeys.</summary>
    public IReadOnlyList<AdvertisedKey>? KeyList { get; set; }

    /// <summary>Neighbours of this client that are in the key list U1 (ids, increasing; self excluded).</summary>
    public int[] KeyNeighbours { get; set; } = [];

    /// <summary>Mask public keys of the neighbours in U1, in <see cref="KeyNeighbours"/> order (views of the received key list).</summary>
    public ReadOnlyMemory<byte>[] NeighbourMaskKeys { get; set; } = [];

    /// <summary>Share-encryption keys with each neighbour in U1 (32 bytes each; wiped on dispose).</summary>
    public Dictionary<int, byte[]> ShareEncryptionKeys { get; } = [];

    /// <summary>Shares held for each owner (sender of shares, or self): (self-seed share, mask-key share), 33 bytes each.</summary>
    public SortedDictionary<int, (byte[] SelfSeed, byte[] MaskKey)> HeldShares { get; } = [];

    /// <summary>Survivor list this client signed (malicious mode).</summary>
    public int[]? SignedSurvivors { get; set; }

    /// <summary>Whether the secrets were wiped (round completed, aborted or abandoned).</summary>
    public bool IsDisposed => _disposed;

    public bool IsNeighbour(int id)
    {
        int mine = P.IndexOf(Id);
        int other = P.IndexOf(id);
        return other >= 0 && other != mine && NeighbourRow is not null && Array.BinarySearch(NeighbourRow, other) >= 0;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CipherKey?.Dispose();
        MaskKey?.Dispose();
        Primitives.Wipe(SelfSeed);
        Primitives.Wipe(RelabelSeed);
        foreach (byte[] key in ShareEncryptionKeys.Values)
        {
            Primitives.Wipe(key);
        }

        foreach ((byte[] a, byte[] b) in HeldShares.Values)
        {
            Primitives.Wipe(a);
            Primitives.Wipe(b);
        }

        ShareEncryptionKeys.Clear();
        HeldShares.Clear();
    }
}
