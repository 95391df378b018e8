using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// A networked round whose masked inputs (2^19 words, 2 MiB) and released model (2.4 MB) are larger than a chunk travels
/// through the chunked transfer (coordinator.md §7: UploadChunk, GetModelRange) and releases bit for bit what the
/// in-process round releases for the same seeds and inputs.
/// </summary>
public sealed class ChunkedRoundTests
{
    private static double[] Update(int index, int d) => Enumerable.Range(0, d).Select(j => 0.02 * (((index + j) % 7) - 3)).ToArray();

    private static DeterministicRandomSource Noise(int index) =>
        new(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("chunked-noise-" + index)));

    [Fact]
    public async Task A_round_whose_masked_inputs_and_model_exceed_a_message_releases_what_the_in_process_round_releases()
    {
        const int n = 3;
        await using var federation = new Federation(clients: n);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = n;
            r.MinClients = n;
            r.PhaseSeconds = 30;
            // The in-process half has no roster identities: compare the pipelines in honest-but-curious mode, opted in.
            r.ThreatMode = "HonestButCurious";
            r.AllowHonestButCurious = true;
            r.Dimension = 300_000;
        });

        // Networked: a real coordinator over TLS on 127.0.0.1, SDK clients with seeded DP noise.
        ModelSnapshot networked;
        ModelSnapshot initial;
        string[] callers;
        await using (CoordinatorHost host = await CoordinatorHost.StartAsync(options))
        {
            var clients = Enumerable.Range(0, n).Select(i => federation.Client(i, host.Address)).ToList();
            try
            {
                await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
                for (int i = 0; i < n; i++)
                {
                    clients[i].NoiseRandom = Noise(i);
                }

                int d = options.Rounds.Dimension;
                SecureFedRec.Client.ClientRoundResult[] results = await Task.WhenAll(clients.Select((c, i) => c.RunRoundAsync(_ => Update(i, d))));
                Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
                // Every masked input went as chunks (3 each: 2^19 words), the model as 1 MiB ranges (3 for 2.4 MB).
                var transports = clients.Select(c => (SecureFedRec.Wire.GrpcRoundTransport)(c.RoundTransport is SecureFedRec.Client.ModelCachingTransport cache ? cache.Inner : c.RoundTransport)).ToList();
                Assert.All(transports, t => Assert.Equal(3, t.ChunkRequests));
                int ranges = transports[0].RangeRequests;
                networked = await clients[0].GetModelAsync();
                Assert.Equal(ranges + 3, transports[0].RangeRequests);
                initial = await clients[0].GetModelAsync(1);
                callers = clients.Select(c => c.ClientId).ToArray();
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }
        }

        // In process: the same round host, settings and client round, over the in-process transport.
        var hostInProcess = new RoundHost(new RoundHostOptions
        {
            Settings = RoundEngine.SettingsOf(options.Rounds),
            CohortSize = n,
            MinClients = n,
            FirstRoundId = networked.RoundId,
        }, new ModelRelease(1, 0, initial.Values, 0, 0), new MemoryPrivacyLedger(new PrivacyBudget(100, 1e-5)), new FedAvgRule());
        var rounds = Enumerable.Range(0, n).Select(i => (callers[i], new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(Federation.Policy, new MemoryPrivacyLedger(new PrivacyBudget(Federation.Policy.MaxTotalEpsilon, Federation.Policy.Delta))),
            UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(Update(i, request.Contract.Dp.Dimension))),
            NoiseRandom = Noise(i),
        }))).ToList();
        InProcessRoundResult local = await InProcessRoundDriver.RunRoundAsync(hostInProcess, rounds, threads: 2);

        Assert.All(local.Clients, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        ModelRelease released = hostInProcess.Latest;
        Assert.Equal(networked.Version, released.Version);
        Assert.Equal(networked.RoundId, released.RoundId);
        Assert.Equal(networked.Values, released.Values);
        Assert.NotEqual(initial.Values, released.Values);
    }
}
