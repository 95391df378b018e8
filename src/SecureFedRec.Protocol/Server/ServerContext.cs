using Google.Protobuf;
using SecureFedRec.Protocol.Graph;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>Coordinator options: enrolled identities (malicious mode) and the worker threads used to unmask.</summary>
public sealed class ServerOptions
{
    /// <summary>Malicious mode: the enrolled identity public keys (each with its <see cref="Crypto.IdentitySuite"/>) by
    /// client id; required then, one valid key per cohort member.</summary>
    public IReadOnlyDictionary<int, Crypto.IdentityPublicKey>? EnrolledIdentities { get; init; }

    /// <summary>Worker threads for mask regeneration (0: all cores).</summary>
    public int Threads { get; init; }
}

/// <summary>Entry point: opens a round.</summary>
public static class SecAggServer
{
    /// <summary>Opens round <paramref name="parameters"/>: the first state and the BeginRound message for every client.</summary>
    public static ServerTransition Start(SecAggParameters parameters, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        options ??= new ServerOptions();
        if (parameters.IsMalicious && options.EnrolledIdentities is null)
        {
            throw new ArgumentException("Malicious mode needs the enrolled identities.", nameof(options));
        }

        if (parameters.IsMalicious)
        {
            foreach (int id in parameters.ClientIds)
            {
                if (!options.EnrolledIdentities!.TryGetValue(id, out Crypto.IdentityPublicKey identity) || !identity.IsValid)
                {
                    throw new ArgumentException($"Malicious mode needs a valid enrolled identity for every cohort member; client {id} has none.", nameof(options));
                }
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.Threads);
        var context = new ServerContext(parameters, options);
        var message = new ServerToClient { BeginRound = new BeginRound { Parameters = parameters.ToWire() } };
        return new ServerTransition(new ServerAdvertiseKeysState(context),
            parameters.ClientIds.Select(id => new OutgoingMessage(id, message)).ToList());
    }
}

/// <summary>Per-round coordinator memory shared by its states (secagg.md §"What the coordinator stores").</summary>
internal sealed class ServerContext
{
    private long _currentBytes;

    internal ServerContext(SecAggParameters parameters, ServerOptions options)
    {
        Parameters = parameters;
        Options = options;
    }

    internal SecAggParameters Parameters { get; }

    internal ServerOptions Options { get; }

    internal Dictionary<int, DropReason> Dropped { get; } = [];

    /// <summary>U1: accepted advertised keys by id.</summary>
    internal SortedDictionary<int, AdvertisedKey> Keys { get; } = [];

    internal byte[] SessionId { get; set; } = [];

    internal NeighbourGraph? Graph { get; set; }

    /// <summary>Harary graphs: the accepted relabelling reveals (32 bytes each) by id.</summary>
    internal SortedDictionary<int, RelabelReveal> Reveals { get; } = [];

    /// <summary>U2: for each sender, its ciphertexts by recipient (freed once forwarded).</summary>
    internal Dictionary<int, Dictionary<int, ByteString>> Shares { get; } = [];

    /// <summary>U2 ids, fixed when the share phase closes.</summary>
    internal int[] ShareSenders { get; set; } = [];

    internal uint[]? Sum { get; set; }

    /// <summary>U3 ids in arrival order until the phase closes; then sorted.</summary>
    internal List<int> MaskedInputSenders { get; } = [];

    internal int[] Survivors { get; set; } = [];

    /// <summary>U4: consistency signatures by id.</summary>
    internal SortedDictionary<int, ByteString> Signatures { get; } = [];

    /// <summary>Recipients of the unmasking request.</summary>
    internal int[] UnmaskingAsked { get; set; } = [];

    /// <summary>U5: revealed shares by owner: (holder id = x, 33-byte value).</summary>
    internal Dictionary<int, List<(int X, byte[] Value)>> Revealed { get; } = [];

    internal HashSet<int> Responders { get; } = [];

    internal long PeakBytes { get; private set; }

    internal int Threads => Options.Threads > 0 ? Options.Threads : Environment.ProcessorCount;

    internal int IndexOf(int id) => Parameters.IndexOf(id);

    internal bool AreNeighbours(int a, int b) => Graph!.AreNeighbours(Parameters.IndexOf(a), Parameters.IndexOf(b));

    internal IEnumerable<int> NeighbourIds(int id)
    {
        foreach (int node in Graph!.NeighboursOf(Parameters.IndexOf(id)).ToArray())
        {
            yield return Parameters.IdAt(node);
        }
    }

    internal void Hold(long bytes)
    {
        _currentBytes += bytes;
        PeakBytes = Math.Max(PeakBytes, _currentBytes);
    }

    internal void Free(long bytes) => _currentBytes -= bytes;

    internal void Release()
    {
        foreach (List<(int X, byte[] Value)> list in Revealed.Values)
        {
            foreach ((_, byte[] value) in list)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(value);
            }
        }

        Revealed.Clear();
        Shares.Clear();
    }
}
