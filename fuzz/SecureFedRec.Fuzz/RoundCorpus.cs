using Google.Protobuf;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Fuzz;

/// <summary>
/// A real malicious-mode round of three seeded clients, run in process once per fuzzing process: its journal and the
/// messages it took are the seeds of the message and journal targets, and hosts resumed from it in each phase are where
/// mutated messages go. The same construction as the CI fuzz test's corpus (tests/SecureFedRec.Integration.Tests/Fuzz).
/// </summary>
internal sealed class RoundCorpus : RoundJournal
{
    public const int Clients = 3;

    private readonly List<RoundJournalEntry> _entries = [];

    public RoundOpened? Opened { get; private set; }

    public IReadOnlyList<RoundJournalEntry> Entries => _entries;

    /// <summary>(phase, encoding) of every message the round took.</summary>
    public List<(Phase Phase, byte[] Bytes)> Messages { get; } = [];

    public override Task OpenAsync(RoundOpened opened, CancellationToken cancellationToken)
    {
        Opened = opened;
        return Task.CompletedTask;
    }

    public override Task AppendAsync(ulong roundId, IReadOnlyList<RoundJournalEntry> entries, CancellationToken cancellationToken)
    {
        lock (_entries)
        {
            _entries.AddRange(entries);
            foreach (RoundJournalEntry e in entries)
            {
                if (e.TryReadMessage(out _, out Phase phase, out ClientToServer? message))
                {
                    Messages.Add((phase, message.ToByteArray()));
                }
            }
        }

        return Task.CompletedTask;
    }

    public static RoundHost Host(RoundJournal? journal) => new(new RoundHostOptions
    {
        Settings = new RoundSettings { Dimension = 8, Clip = 1, TargetEpsilon = 10, PlannedRounds = 5 },
        CohortSize = Clients,
        Random = new DeterministicRandomSource(new byte[32]),
        Journal = journal,
    }, new ModelRelease(1, 0, new double[8], 0, 0), new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new FedAvgRule());

    /// <summary>A host resumed from the journal just after <paramref name="phase"/> opened.</summary>
    public async Task<RoundHost> ResumedInAsync(Phase phase)
    {
        int end = _entries.FindIndex(e => e.TryReadClose(out _, out Phase next, out _) && next == phase);
        RoundHost host = Host(null);
        await host.ResumeAsync(new RoundResume(Opened!.Plan, Opened.Cohort, end < 0 ? [] : _entries.Take(end + 1).ToList())).ConfigureAwait(false);
        return host;
    }

    public static async Task<RoundCorpus> BuildAsync()
    {
        var corpus = new RoundCorpus();
        RoundHost host = Host(corpus);
        var policy = new ClientPrivacyPolicy
        {
            MaxTotalEpsilon = 100,
            Delta = 1e-5,
            MinNoiseMultiplier = 0,
            MaxClip = 10,
            AcceptedThreatModes = new HashSet<SecureFedRec.Privacy.Policy.ThreatMode> { SecureFedRec.Privacy.Policy.ThreatMode.CuriousServer, SecureFedRec.Privacy.Policy.ThreatMode.SemiMalicious },
            MinThresholdFraction = 0.5,
            AllowHonestButCurious = true,
            MinCohortSize = 2,
            MinThreshold = 2,
            MinDistinctOrganisations = 1,
        };
        var clients = Enumerable.Range(0, Clients).Select(i => ("client-" + i, new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(policy, new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta))),
            UpdateSource = (r, _) => Task.FromResult(LocalUpdate.FromTotal(r.Model.Values.Select(v => 0.1 * (i + 1)).ToArray())),
            ProtocolRandom = new DeterministicRandomSource(System.Security.Cryptography.SHA256.HashData([(byte)i, 1])),
            NoiseRandom = new DeterministicRandomSource(System.Security.Cryptography.SHA256.HashData([(byte)i, 2])),
        }))).ToList();
        InProcessRoundResult result = await InProcessRoundDriver.RunRoundAsync(host, clients, threads: 1).ConfigureAwait(false);
        if (result.Clients.Any(c => c.Outcome != ClientRoundOutcome.Completed))
        {
            throw new InvalidOperationException("The corpus round did not complete for every client.");
        }

        return corpus;
    }
}
