using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using SecureFedRec.Client;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Attack.Tests;

/// <summary>
/// protocol-spec/vectors/network/round-transcript.json (protocol-spec/vectors.md §5): every round message of one real
/// networked round (coordinator on Kestrel over TLS, six SDK clients), in the order the coordinator saw them, with the
/// RoundInfo each client received and the model before and after. The replay (<see cref="Check"/>) needs the file
/// alone: the flow of RPCs and phases per client, the binding of every RoundInfo, the key list against the advertised
/// keys, and the coordinator's side — remove the self masks with the revealed shares (the pairwise masks cancel),
/// decode, apply FedAvg — must give the released model bit for bit. The same check runs on a fresh networked round, so
/// the published transcript cannot drift from what the code sends.
/// </summary>
public sealed class NetworkTranscriptTests
{
    private const string Relative = "network/round-transcript.json";

    /// <summary>The flow every client of an honest-but-curious round follows (RPC, phase, message), in order.</summary>
    internal static readonly string[] HonestButCuriousFlow =
    [
        "JoinRound ADVERTISE_KEYS BeginRound",
        "SubmitPhase ADVERTISE_KEYS AdvertiseKeys",
        "FetchPhase SHARE_KEYS ShareKeysRequest",
        "SubmitPhase SHARE_KEYS ShareKeys",
        "FetchPhase MASKED_INPUT MaskedInputRequest",
        "SubmitPhase MASKED_INPUT MaskedInput",
        "FetchPhase UNMASKING UnmaskingRequest",
        "SubmitPhase UNMASKING Unmasking",
        "FetchPhase COMPLETED Result",
    ];

    [Fact]
    public void The_published_transcript_replays() => Check(Load());

    [Fact]
    public async Task A_fresh_networked_round_satisfies_the_same_replay()
    {
        JsonNode recorded = JsonNode.Parse((await RecordAsync()).ToJsonString())!; // as a replayer reads it
        Check(recorded);
        if (Environment.GetEnvironmentVariable("SFR_UPDATE_VECTORS") == "1")
        {
            string path = Path.Combine(VectorDirectory(), Relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, recorded.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        }
    }

    [Theory]
    [InlineData("masked-input")]
    [InlineData("revealed-share")]
    [InlineData("binding")]
    [InlineData("flow")]
    public void A_changed_transcript_fails_the_replay(string change)
    {
        JsonNode vector = Load();
        JsonArray messages = vector["messages"]!.AsArray();
        switch (change)
        {
            case "masked-input":
                {
                    JsonNode m = messages.First(x => x!["message"]!.GetValue<string>() == "MaskedInput")!;
                    var msg = ClientToServer.Parser.ParseFrom(Convert.FromHexString(m["payload"]!.GetValue<string>()));
                    byte[] v = msg.MaskedInput.MaskedVector.ToByteArray();
                    v[0] ^= 1;
                    msg.MaskedInput.MaskedVector = ByteString.CopyFrom(v);
                    m["payload"] = Convert.ToHexStringLower(msg.ToByteArray());
                    break;
                }

            case "revealed-share":
                {
                    // The smallest holder's share: the coordinator reconstructs from the t smallest holders.
                    JsonNode m = messages.Where(x => x!["message"]!.GetValue<string>() == "Unmasking").MinBy(x => x!["client"]!.GetValue<int>())!;
                    var msg = ClientToServer.Parser.ParseFrom(Convert.FromHexString(m["payload"]!.GetValue<string>()));
                    byte[] v = msg.Unmasking.Shares[0].Value.ToByteArray();
                    v[^1] ^= 1;
                    msg.Unmasking.Shares[0].Value = ByteString.CopyFrom(v);
                    m["payload"] = Convert.ToHexStringLower(msg.ToByteArray());
                    break;
                }

            case "binding":
                {
                    JsonNode client = vector["clients"]![0]!;
                    var info = RoundInfo.Parser.ParseFrom(Convert.FromHexString(client["roundInfo"]!.GetValue<string>()));
                    info.Dp.Clip *= 2;
                    client["roundInfo"] = Convert.ToHexStringLower(info.ToByteArray());
                    break;
                }

            default:
                messages.RemoveAt(messages.IndexOf(messages.First(x => x!["message"]!.GetValue<string>() == "MaskedInputRequest")));
                break;
        }

        Assert.ThrowsAny<Exception>(() => Check(vector));
    }

    /// <summary>The replay of protocol-spec/vectors.md §5, from the file alone.</summary>
    internal static void Check(JsonNode vector)
    {
        var messages = vector["messages"]!.AsArray().Select(m => m!).ToList();
        var clients = vector["clients"]!.AsArray().Select(c => c!).ToList();
        RoundContract? contract = null;
        foreach (JsonNode client in clients)
        {
            uint number = client["clientNumber"]!.GetValue<uint>();
            var mine = messages.Where(m => m["client"]!.GetValue<uint>() == number).ToList();
            Assert.Equal(HonestButCuriousFlow, mine.Select(m => $"{m["rpc"]} {m["phase"]} {m["message"]}"));

            // The RoundInfo the client received binds the BeginRound: SHA-256 of the contract's canonical encoding.
            RoundInfo info = RoundInfo.Parser.ParseFrom(Convert.FromHexString(client["roundInfo"]!.GetValue<string>()));
            Assert.Equal(number, info.ClientNumber);
            RoundContract c = RoundCodec.FromWire(info);
            RoundParameters p = ServerToClient.Parser.ParseFrom(Convert.FromHexString(mine[0]["payload"]!.GetValue<string>())).BeginRound.Parameters;
            Assert.Equal(c.Binding(), p.Binding.ToByteArray());
            Assert.Contains(number, p.ClientIds);
            contract ??= c;
            Assert.Equal(contract.Binding(), c.Binding());
        }

        ClientToServer Sent(JsonNode m) => ClientToServer.Parser.ParseFrom(Convert.FromHexString(m["payload"]!.GetValue<string>()));
        ServerToClient Received(JsonNode m) => ServerToClient.Parser.ParseFrom(Convert.FromHexString(m["payload"]!.GetValue<string>()));

        // The key list every client received is exactly the advertised keys.
        var advertised = messages.Where(m => m["message"]!.GetValue<string>() == "AdvertiseKeys").Select(m => Sent(m).AdvertiseKeys.Keys).OrderBy(k => k.ClientId).ToList();
        foreach (JsonNode m in messages.Where(m => m["message"]!.GetValue<string>() == "ShareKeysRequest"))
        {
            Assert.Equal(advertised, Received(m).ShareKeysRequest.Keys.OrderBy(k => k.ClientId));
        }

        // The coordinator's side: Σ y_u − Σ PRG(b_u, self(u)) over the survivors (no dropouts: the pairwise masks cancel).
        RoundParameters parameters = Received(messages.First(m => m["message"]!.GetValue<string>() == "BeginRound")).BeginRound.Parameters;
        byte[] session = SpecUnmasker.SessionId(parameters, Received(messages.First(m => m["message"]!.GetValue<string>() == "ShareKeysRequest")).ShareKeysRequest);
        var masked = messages.Where(m => m["message"]!.GetValue<string>() == "MaskedInput").Select(m => Sent(m).MaskedInput).ToList();
        var unmasking = messages.Where(m => m["message"]!.GetValue<string>() == "Unmasking").Select(m => Sent(m).Unmasking).ToList();
        int bits = (int)parameters.Bits, t = (int)parameters.Threshold;
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        uint[] sum = new uint[parameters.Dimension];
        foreach (MaskedInput y in masked)
        {
            for (int i = 0; i < sum.Length; i++)
            {
                sum[i] = (sum[i] + BinaryPrimitives.ReadUInt32LittleEndian(y.MaskedVector.Span[(4 * i)..])) & mask;
            }
        }

        Span<byte> seed = stackalloc byte[32];
        foreach (MaskedInput y in masked)
        {
            var shares = unmasking.SelectMany(u => u.Shares.Where(s => s.OwnerId == y.ClientId && s.Kind == ShareKind.SelfMaskSeed)
                .Select(s => ShamirShare.Import((int)u.ClientId, s.Value.Span))).OrderBy(s => s.X).Take(t).ToList();
            try
            {
                Assert.Equal(ShamirResult.Ok, Shamir.TryReconstruct(shares, t, seed));
            }
            finally
            {
                shares.ForEach(s => s.Dispose());
            }

            MaskPrg.SubtractMask(seed, DomainLabel.For("secagg/self-mask").Add(session).Add(y.ClientId).Span, bits, sum);
        }

        DecodeResult decoded = new DistributedDiscreteGaussianMechanism(contract!.Dp).Decode(sum, masked.Count, contract.RotationSeed());
        Assert.True(decoded.Succeeded, decoded.Failure.ToString());
        double[] before = [.. vector["model"]!["before"]!.AsArray().Select(v => v!.GetValue<double>())];
        double[] after = [.. vector["model"]!["after"]!.AsArray().Select(v => v!.GetValue<double>())];
        double[] expected = [.. before.Select((b, i) => b + (1.0 * decoded.Sum![i] / masked.Count))];
        Assert.Equal(after.Select(BitConverter.DoubleToInt64Bits), expected.Select(BitConverter.DoubleToInt64Bits));
    }

    private static async Task<JsonNode> RecordAsync()
    {
        await using Deployment deployment = await Deployment.StartAsync(new HonestScript(), malicious: false);
        ModelSnapshot before = await deployment.Sdk[0].GetModelAsync();
        ClientRoundResult[] results = await deployment.RunRoundAsync();
        Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
        ulong round = results[0].RoundId;
        ModelSnapshot after = await deployment.Sdk[0].GetModelAsync();
        Assert.Equal(round, after.RoundId);
        var clients = new JsonArray();
        foreach ((int index, int number) in Enumerable.Range(0, Deployment.Clients).Select(i => (i, deployment.NumberOf(i))).OrderBy(x => x.Item2))
        {
            var invitation = deployment.Coordinator.Invitations[(deployment.Sdk[index].ClientId, round)];
            clients.Add(new JsonObject
            {
                ["clientNumber"] = number,
                ["roundInfo"] = Convert.ToHexStringLower(RoundCodec.ToWire(invitation.Contract, number).ToByteArray()),
            });
        }

        var messages = new JsonArray();
        foreach (TranscriptEntry e in deployment.Coordinator.Transcript.Entries.Where(e => e.RoundId == round))
        {
            string name = e.Message is ClientToServer c ? c.MessageCase.ToString() : ((ServerToClient)e.Message).MessageCase.ToString();
            messages.Add(new JsonObject
            {
                ["client"] = e.ClientNumber,
                ["rpc"] = e.FromClient ? "SubmitPhase" : name == "BeginRound" ? "JoinRound" : "FetchPhase",
                ["phase"] = PhaseName(e, name),
                ["message"] = name,
                ["payload"] = Convert.ToHexStringLower(e.Message.ToByteArray()),
            });
        }

        return new JsonObject
        {
            ["description"] = "One networked honest-but-curious round (n = 6, t = 3, d = 8 → D = 8, b = 20) as the coordinator saw it; fields in protocol-spec/vectors.md §5.",
            ["reference"] = "protocol-spec/vectors.md §5, protocol-spec/coordinator.md, protocol-spec/secagg.md §6",
            ["round"] = round,
            ["clients"] = clients,
            ["messages"] = messages,
            ["model"] = new JsonObject
            {
                ["rule"] = "fedavg, learning rate 1",
                ["before"] = new JsonArray([.. before.Values.Select(v => JsonValue.Create(v))]),
                ["after"] = new JsonArray([.. after.Values.Select(v => JsonValue.Create(v))]),
                ["version"] = after.Version,
            },
        };
    }

    /// <summary>The wire name of the phase the RPC named (the phase a fetch asks for opens with the message it returns).</summary>
    private static string PhaseName(TranscriptEntry e, string message) =>
        message == "BeginRound" ? "ADVERTISE_KEYS" : e.Phase switch
        {
            Phase.AdvertiseKeys => "ADVERTISE_KEYS",
            Phase.ShareKeys => "SHARE_KEYS",
            Phase.MaskedInput => "MASKED_INPUT",
            Phase.ConsistencyCheck => "CONSISTENCY_CHECK",
            Phase.Unmasking => "UNMASKING",
            Phase.Completed => "COMPLETED",
            _ => e.Phase.ToString(),
        };

    private static JsonNode Load() => JsonNode.Parse(File.ReadAllText(Path.Combine(VectorDirectory(), Relative)))!;

    private static string VectorDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "protocol-spec", "vectors");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("protocol-spec/vectors not found above the test binaries.");
    }
}
