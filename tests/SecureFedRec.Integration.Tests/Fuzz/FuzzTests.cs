using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Roster;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests.Fuzz;

/// <summary>A real round's journal and messages: the fuzz corpus (deterministic: seeded clients and cohort).</summary>
internal sealed class Corpus : RoundJournal
{
    public const int Clients = 3;

    private static readonly Lazy<Task<Corpus>> Shared = new(BuildAsync);

    private readonly List<RoundJournalEntry> _entries = [];

    public RoundOpened? Opened { get; private set; }

    public IReadOnlyList<RoundJournalEntry> Entries => _entries;

    /// <summary>(client number, phase, encoding) of every message the round took.</summary>
    public List<(int Client, Phase Phase, byte[] Bytes)> Messages { get; } = [];

    public static Task<Corpus> GetAsync() => Shared.Value;

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
                if (e.TryReadMessage(out int client, out Phase phase, out ClientToServer? message))
                {
                    Messages.Add((client, phase, message.ToByteArray()));
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

    /// <summary>A host resumed from the corpus journal just after <paramref name="phase"/> opened.</summary>
    public async Task<RoundHost> ResumedInAsync(Phase phase)
    {
        int end = _entries.FindIndex(e => e.TryReadClose(out _, out Phase next, out _) && next == phase);
        RoundHost host = Host(null);
        await host.ResumeAsync(new RoundResume(Opened!.Plan, Opened.Cohort, end < 0 ? [] : _entries.Take(end + 1).ToList()));
        return host;
    }

    private static async Task<Corpus> BuildAsync()
    {
        var corpus = new Corpus();
        RoundHost host = Host(corpus);
        ClientPrivacyPolicy policy = Federation.Policy;
        var clients = Enumerable.Range(0, Clients).Select(i => ("client-" + i, new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(policy, new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta))),
            UpdateSource = (r, _) => Task.FromResult(LocalUpdate.FromTotal(r.Model.Values.Select(v => 0.1 * (i + 1)).ToArray())),
            ProtocolRandom = new DeterministicRandomSource(System.Security.Cryptography.SHA256.HashData([(byte)i, 1])),
            NoiseRandom = new DeterministicRandomSource(System.Security.Cryptography.SHA256.HashData([(byte)i, 2])),
        }))).ToList();
        InProcessRoundResult result = await InProcessRoundDriver.RunRoundAsync(host, clients, threads: 2);
        Assert.All(result.Clients, c => Assert.Equal(ClientRoundOutcome.Completed, c.Outcome));
        return corpus;
    }
}

/// <summary>
/// Bounded, seeded fuzzing of every parser and RPC (runs in CI in seconds; a failure names its seed and iteration):
/// mutated secure-aggregation messages fed to the round host in every phase, mutated round journals fed to resume,
/// mutated and absurd requests to every coordinator RPC over TLS on loopback (signed, and as raw gRPC frames, truncated
/// and oversized), and mutated roster, allow-list, client-ledger, model and contract encodings. Each must end in a typed
/// refusal — a reply, a <c>false</c>, a documented exception type, a gRPC status other than UNKNOWN — and the coordinator
/// must still run a round afterwards. docs/fuzzing.md explains the longer libFuzzer-style runs.
/// </summary>
public sealed class FuzzTests
{
    /// <summary>The seed (SFR_FUZZ_SEED overrides it to explore further or replay a reported failure).</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("SFR_FUZZ_SEED"), out int seed) ? seed : 20261201;

    /// <summary>Iterations multiplier (SFR_FUZZ_SCALE, default 1: the CI budget of a few seconds).</summary>
    private static readonly int Scale = int.TryParse(Environment.GetEnvironmentVariable("SFR_FUZZ_SCALE"), out int scale) && scale > 0 ? scale : 1;

    private static readonly Phase[] Phases = [Phase.AdvertiseKeys, Phase.ShareKeys, Phase.MaskedInput, Phase.Unmasking];

    [Theory]
    [InlineData(Phase.AdvertiseKeys)]
    [InlineData(Phase.ShareKeys)]
    [InlineData(Phase.MaskedInput)]
    [InlineData(Phase.Unmasking)]
    public async Task Mutated_secagg_messages_in_every_phase_get_typed_answers_from_the_round_host(Phase phase)
    {
        Corpus corpus = await Corpus.GetAsync();
        RoundHost host = await corpus.ResumedInAsync(phase);
        var mutator = new Mutator(Seed + (int)phase);
        int parsed = 0;
        for (int i = 0; i < 400 * Scale; i++)
        {
            (int client, Phase of, byte[] bytes) = mutator.Pick(corpus.Messages);
            // Half light (one byte changed: mostly inside a field, so the message still parses and reaches the state
            // machine), half heavy (structure broken: the parser's refusals).
            byte[] mutated = i % 2 == 0 ? mutator.MutateByte(bytes) : mutator.Mutate(bytes, mutator.Pick(corpus.Messages).Bytes);
            ClientToServer message;
            try
            {
                message = ClientToServer.Parser.ParseFrom(mutated);
            }
            catch (InvalidProtocolBufferException)
            {
                continue;
            }

            parsed++;
            string caller = corpus.Opened!.Cohort[mutator.Next(Corpus.Clients)];
            Phase claimed = mutator.Next(4) == 0 ? (Phase)mutator.Next(12) - 1 : phase;
            SubmitReply reply = Record(i, () => host.Submit(caller, 1, claimed, message));
            Assert.True(Enum.IsDefined(reply.Outcome) && Enum.IsDefined(reply.Refusal), $"iteration {i}: {reply}");
            FetchReply fetched = Record(i, () => host.Fetch(caller, 1, Phases[mutator.Next(Phases.Length)]));
            Assert.True(Enum.IsDefined(fetched.Outcome), $"iteration {i}: {fetched}");
        }

        Assert.True(parsed > 150 * Scale, $"only {parsed} of {400 * Scale} mutations parsed: the mutator is too destructive to reach the state machine");

        // The host still closes phases and finishes the round (released, or aborted if the fuzzing dropped clients).
        for (int t = 0; t < 8 && host.Current.RoundId != 0; t++)
        {
            await host.TickAsync(closeNow: true);
        }

        Assert.Equal(0UL, host.Current.RoundId);
    }

    [Fact]
    public async Task Mutated_round_journals_are_resumed_or_refused_with_a_journal_exception()
    {
        Corpus corpus = await Corpus.GetAsync();
        var mutator = new Mutator(Seed);
        int refused = 0;
        for (int i = 0; i < 150 * Scale; i++)
        {
            var entries = corpus.Entries.ToList();
            int at = mutator.Next(entries.Count);
            RoundJournalEntry victim = entries[at];
            entries[at] = mutator.Next(5) switch
            {
                0 => victim with { Sequence = victim.Sequence + mutator.Next(3) - 1 },
                1 => victim with { Kind = (RoundJournalEntryKind)mutator.Next(4) },
                _ => victim with { Body = mutator.Mutate(victim.Body.Span) },
            };
            RoundHost host = Corpus.Host(null);
            try
            {
                await host.ResumeAsync(new RoundResume(corpus.Opened!.Plan, corpus.Opened.Cohort, entries));
            }
            catch (RoundJournalException)
            {
                refused++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"iteration {i} (entry {at}): {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(refused > 0);
    }

    [Fact]
    public async Task Mutated_roster_allow_list_ledger_model_and_contract_encodings_are_refused_with_typed_errors()
    {
        var mutator = new Mutator(Seed);
        string directory = Directory.CreateTempSubdirectory("sfr-fuzz-").FullName;
        try
        {
            // Rosters: never throws (a RosterCheck says why not).
            using JsonDocument vectors = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(PythonInteropTests.RepoRoot(), "protocol-spec", "vectors", "roster", "roster.json")));
            var rosters = Strings(vectors.RootElement, "roster").Select(s => System.Text.Encoding.UTF8.GetBytes(s)).ToList();
            Assert.NotEmpty(rosters);
            for (int i = 0; i < 300 * Scale; i++)
            {
                byte[] mutated = mutator.Mutate(mutator.Pick(rosters), mutator.Pick(rosters));
                Record(i, () => RosterFile.TryParse(mutated, out _));
            }

            // Allow-lists: FormatException for a bad line.
            using var identity = ClientIdentity.Generate();
            byte[] allow = System.Text.Encoding.UTF8.GetBytes(Convert.ToHexString(identity.PublicKey) + " bank\n# comment\n\n");
            string allowPath = Path.Combine(directory, "allow-list.txt");
            for (int i = 0; i < 200 * Scale; i++)
            {
                await File.WriteAllBytesAsync(allowPath, mutator.Mutate(allow));
                Expect(i, () => AllowList.Load(allowPath, []), typeof(FormatException), typeof(ArgumentException));
            }

            // The client's ledger file: corrupt means LedgerCorruptException, never a crash or a silent reset.
            byte[] ledger = await File.ReadAllBytesAsync(Path.Combine(PythonInteropTests.RepoRoot(), "protocol-spec", "vectors", "client-ledger-v2.jsonl"));
            for (int i = 0; i < 200 * Scale; i++)
            {
                string path = Path.Combine(directory, $"ledger-{i}.jsonl");
                await File.WriteAllBytesAsync(path, mutator.Mutate(ledger));
                Expect(i, () => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)).Dispose(), typeof(LedgerCorruptException), typeof(FormatException));
            }

            // The model and contract encodings of the wire.
            byte[] model = RoundCodec.EncodeModel([0.5, -1, 2, 3]);
            Corpus corpus = await Corpus.GetAsync();
            byte[] info = RoundCodec.ToWire(corpus.Opened!.Plan.Contract, 1).ToByteArray();
            for (int i = 0; i < 300 * Scale; i++)
            {
                byte[] m = mutator.Mutate(model);
                Expect(i, () => RoundCodec.DecodeModel(m), typeof(FormatException));
                byte[] c = mutator.Mutate(info);
                Expect(i, () => RoundCodec.FromWire(RoundInfo.Parser.ParseFrom(c)), typeof(FormatException), typeof(InvalidProtocolBufferException));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Mutated_and_absurd_rpcs_over_loopback_get_grpc_statuses_and_the_coordinator_still_runs_a_round()
    {
        Corpus corpus = await Corpus.GetAsync();
        await using var federation = new Federation(clients: Corpus.Clients);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = Corpus.Clients;
            r.MinClients = Corpus.Clients;
            r.PhaseSeconds = 10;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options, null);
        var clients = Enumerable.Range(0, Corpus.Clients).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await clients[0].EnrolAsync();
            var mutator = new Mutator(Seed);
            using var signed = new CoordinatorChannel(host.Address, new CoordinatorChannelOptions
            {
                Pin = CertificatePin.ForCertificate(federation.PublicCertificate),
                Authenticator = federation.Identities[0],
                MaxAttempts = 1,
            });
            ulong[] absurdIds = [0, 1, 2, ulong.MaxValue, long.MaxValue, 1UL << 63];
            for (int i = 0; i < 250 * Scale; i++)
            {
                int kind = mutator.Next(5);
                await ExpectStatusAsync(i, kind switch
                {
                    0 => async () => await signed.Rounds.SubmitPhaseAsync(new SubmitPhaseRequest
                    {
                        RoundId = mutator.Pick(absurdIds),
                        Phase = (Phase)mutator.Next(10) - 2,
                        Payload = ByteString.CopyFrom(mutator.Mutate(mutator.Pick(corpus.Messages).Bytes)),
                    }),
                    1 => async () => await signed.Rounds.FetchPhaseAsync(new FetchPhaseRequest { RoundId = mutator.Pick(absurdIds), Phase = (Phase)mutator.Next(int.MaxValue) }),
                    2 => async () => await signed.Rounds.GetModelAsync(new GetModelRequest { Version = mutator.Pick(absurdIds) }),
                    3 => async () => await signed.Rounds.SubmitPhaseAsync(new SubmitPhaseRequest
                    {
                        RoundId = 1,
                        Phase = Phase.AdvertiseKeys,
                        Payload = ByteString.CopyFrom(new byte[mutator.Next(2) == 0 ? 70_000 : CoordinatorProtocol.DefaultMaxMessageBytes + 1]),
                    }),
                    _ => async () => await signed.Status.GetStatusAsync(new GetStatusRequest()),
                });
            }

            // Unsigned raw requests: the request envelopes themselves mutated, as gRPC frames (well-formed, truncated,
            // declaring absurd lengths) to every method.
            using var handler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetRawCertData().AsSpan().SequenceEqual(federation.PublicCertificate.RawData) },
            };
            using var http = new HttpClient(handler) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
            string[] methods =
            [
                "securefedrec.coordinator.v1.Rounds/SubmitPhase", "securefedrec.coordinator.v1.Rounds/FetchPhase",
                "securefedrec.coordinator.v1.Rounds/JoinRound", "securefedrec.coordinator.v1.Rounds/GetModel",
                "securefedrec.coordinator.v1.Enrolment/Enrol", "securefedrec.coordinator.v1.CoordinatorStatus/GetStatus",
            ];
            byte[] envelope = new SubmitPhaseRequest { RoundId = 1, Phase = Phase.ShareKeys, Payload = ByteString.CopyFrom(corpus.Messages[^1].Bytes) }.ToByteArray();
            for (int i = 0; i < 150 * Scale; i++)
            {
                byte[] body = mutator.Mutate(envelope);
                byte[] frame = new byte[5 + body.Length];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), mutator.Next(3) switch
                {
                    0 => (uint)body.Length,
                    1 => (uint)body.Length + (uint)mutator.Next(1000) + 1,
                    _ => uint.MaxValue >> mutator.Next(4),
                });
                body.CopyTo(frame, 5);
                if (mutator.Next(3) == 0)
                {
                    frame = frame[..mutator.Next(frame.Length)];
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Address, mutator.Pick(methods)))
                {
                    Content = new ByteArrayContent(frame),
                    Version = HttpVersion.Version20,
                    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
                request.Headers.TryAddWithoutValidation("te", "trailers");
                using HttpResponseMessage response = await http.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                string status = response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.First()
                    : response.Headers.TryGetValues("grpc-status", out var h) ? h.First() : "none";
                Assert.True(response.StatusCode == HttpStatusCode.OK && status is not ("2" or "none"),
                    $"iteration {i}: HTTP {(int)response.StatusCode}, grpc-status {status}");
            }

            // Still healthy, and a real round completes.
            using (HttpResponseMessage health = await http.GetAsync(new Uri(host.Address, "/healthz")))
            {
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }

            await Task.WhenAll(clients.Skip(1).Select(c => c.EnrolAsync()));
            SecureFedRec.Client.ClientRoundResult[] results = await Task.WhenAll(clients.Select(c => c.RunRoundAsync(ctx => new double[ctx.Model.Values.Length])))
                .WaitAsync(TimeSpan.FromSeconds(60));
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static IEnumerable<string> Strings(JsonElement element, string name)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in element.EnumerateObject())
                {
                    if (p.Name == name && p.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return p.Value.GetString()!;
                    }

                    foreach (string s in Strings(p.Value, name))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (JsonElement e in element.EnumerateArray())
                {
                    foreach (string s in Strings(e, name))
                    {
                        yield return s;
                    }
                }

                break;
        }
    }

    private static T Record<T>(int iteration, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (Exception ex)
        {
            Assert.Fail($"iteration {iteration} (seed {Seed}): unhandled {ex.GetType().Name}: {ex.Message}");
            throw;
        }
    }

    private static void Expect(int iteration, Action call, params Type[] allowed)
    {
        try
        {
            call();
        }
        catch (Exception ex) when (allowed.Any(t => t.IsInstanceOfType(ex)))
        {
        }
        catch (Exception ex)
        {
            Assert.Fail($"iteration {iteration} (seed {Seed}): {ex.GetType().Name} is not a typed refusal: {ex.Message}");
        }
    }

    private static async Task ExpectStatusAsync(int iteration, Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (RpcException ex)
        {
            Assert.True(ex.StatusCode is not (StatusCode.Unknown or StatusCode.Internal or StatusCode.DataLoss),
                $"iteration {iteration} (seed {Seed}): {ex.StatusCode}: {ex.Status.Detail}");
        }
    }
}
