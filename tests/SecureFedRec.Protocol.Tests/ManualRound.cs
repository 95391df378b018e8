using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>Drives one small round by hand (n = 4, t = 3) so tests can stop any party in any state.</summary>
internal sealed class ManualRound : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly Dictionary<int, IdentitySigningKey> _identities;

    public ManualRound(ThreatMode mode, int n = 4, int t = 3, ulong seed = 17, IdentitySuite suite = IdentitySuite.Ed25519,
        Graph.GraphKind graph = Graph.GraphKind.Full, int? degree = null)
    {
        var rng = DeterministicRandomSource.FromTestSeed(seed);
        _owned.Add(rng);
        P = SecAggParameters.Create(1, Enumerable.Range(1, n).ToArray(), t, 6, 16, mode, Crypto.KeyAgreementSuite.X25519, graph, degree ?? (n - 1));
        Dictionary<int, IdentityPublicKey>? roster = null;
        var identities = new Dictionary<int, IdentitySigningKey>();
        if (mode == ThreatMode.Malicious)
        {
            foreach (int id in P.ClientIds)
            {
                identities[id] = IdentitySigningKey.Generate(suite, rng);
                _owned.Add(identities[id]);
            }

            roster = identities.ToDictionary(kv => kv.Key, kv => kv.Value.PublicIdentity);
        }

        Roster = roster;
        _identities = identities;
        Inputs = TestSupport.RandomInputs(n, 6, 16, seed);
        foreach (int id in P.ClientIds)
        {
            Clients[id] = SecAggClient.Create(new ClientOptions(id, _ => Inputs[id - 1])
            {
                Random = rng,
                Identity = identities.GetValueOrDefault(id),
                EnrolledIdentities = roster,
            });
        }

        ServerTransition start = SecAggServer.Start(P, new ServerOptions { EnrolledIdentities = roster, Threads = 1 });
        Server = start.State;
        Pending = start.Messages;
    }

    /// <summary>A Harary round (n = 4, k = 2, t = 2: the 4-cycle; 2t > k + 1 holds for malicious mode).</summary>
    public static ManualRound Harary(ThreatMode mode, ulong seed = 17, IdentitySuite suite = IdentitySuite.Ed25519) =>
        new(mode, 4, 2, seed, suite, Graph.GraphKind.Harary, 2);

    public SecAggParameters P { get; }

    public IReadOnlyDictionary<int, IdentityPublicKey>? Roster { get; }

    /// <summary>The identity keys (malicious mode), owned by this round.</summary>
    public IReadOnlyDictionary<int, IdentitySigningKey> Identities => _identities;

    public uint[][] Inputs { get; }

    public Dictionary<int, ClientState> Clients { get; } = [];

    public ServerState Server { get; private set; }

    public IReadOnlyList<OutgoingMessage> Pending { get; private set; }

    public SortedDictionary<int, ClientToServer> Replies { get; } = [];

    public ServerToClient PendingFor(int id) => Pending.First(m => m.ClientId == id).Message;

    public void DeliverPending()
    {
        foreach (OutgoingMessage m in Pending)
        {
            ClientStep step = Clients[m.ClientId].Handle(m.Message);
            Clients[m.ClientId] = step.State;
            if (step.Message is not null)
            {
                Replies[m.ClientId] = step.Message;
            }
        }

        Pending = [];
    }

    public void FeedReplies()
    {
        foreach ((int id, ClientToServer reply) in Replies)
        {
            Server.Handle(id, reply);
        }

        Replies.Clear();
    }

    public void Close()
    {
        ServerTransition next = Server.Close();
        Server = next.State;
        Pending = next.Messages;
    }

    /// <summary>Advances until client 1 is in <paramref name="phase"/> with its next (correct) message pending.</summary>
    public ClientState ClientAt(Phase phase)
    {
        while (Clients[1].Phase != phase)
        {
            if (Clients[1].IsTerminal || Server.IsTerminal)
            {
                throw new InvalidOperationException($"Client 1 never reached {phase} (it is in {Clients[1].Phase}).");
            }

            DeliverPending();
            FeedReplies();
            Close();
        }

        return Clients[1];
    }

    /// <summary>Advances until the coordinator is in <paramref name="phase"/> with the clients' replies collected, not yet fed.</summary>
    public ServerState ServerAt(Phase phase)
    {
        while (true)
        {
            DeliverPending();
            if (Server.Phase == phase)
            {
                return Server;
            }

            if (Server.IsTerminal)
            {
                throw new InvalidOperationException($"The coordinator never reached {phase} (it is in {Server.Phase}).");
            }

            FeedReplies();
            Close();
        }
    }

    public void Dispose()
    {
        foreach (IDisposable d in _owned)
        {
            d.Dispose();
        }
    }
}
