using System.Text.Json;
using System.Text.Json.Nodes;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Integration.Tests.Storage;

/// <summary>
/// protocol-spec/vectors/ledger/ledger-chain.json: ledger and model rows with their chain hashes (protocol-spec/ledger.md
/// §1), so that an auditor's own tool can recompute a store's chain. Regenerate with SFR_WRITE_VECTORS=1.
/// </summary>
public sealed class LedgerVectorTests
{
    private static string VectorPath() =>
        Path.Combine(PythonInteropTests.RepoRoot(), "protocol-spec", "vectors", "ledger", "ledger-chain.json");

    private static (List<LedgerRecord> Ledger, List<ModelVersionRecord> Models) Rows()
    {
        DateTimeOffset t = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var ledger = new List<LedgerRecord>();
        string previous = LedgerChain.Genesis;
        (string Round, string Parameters, int Clients, double RoundEps, double TotalEps)[] charges =
        [
            ("round-1", "{\"sigma\":2.5,\"clip\":1}", 10, 0.5, 0.5),
            ("round-2", "{\"sigma\":2.5,\"clip\":1}", 9, 0.52, 0.7311),
        ];
        for (int i = 0; i < charges.Length; i++)
        {
            var row = new LedgerRecord(i + 1, charges[i].Round, t.AddMinutes(i + 1), charges[i].Parameters, charges[i].Clients, charges[i].RoundEps, charges[i].TotalEps) { PreviousHash = previous };
            row = row with { Hash = LedgerChain.LedgerRowHash(previous, row) };
            ledger.Add(row);
            previous = row.Hash;
        }

        var models = new List<ModelVersionRecord>();
        previous = LedgerChain.Genesis;
        (long Round, byte[] Bytes, string Epsilon, int Anchor)[] releases = [(0, [0, 0, 0, 0], "0", 0), (1, [1, 2, 3, 4], "0.5", 1), (2, [5, 6, 7, 8], "0.52", 2)];
        for (int v = 0; v < releases.Length; v++)
        {
            int anchor = releases[v].Anchor;
            var row = new ModelVersionRecord(v + 1, releases[v].Round, releases[v].Bytes, releases[v].Epsilon, t.AddMinutes(v).AddSeconds(30))
            {
                ModelDigest = LedgerChain.ModelDigest(releases[v].Bytes),
                LedgerCount = anchor,
                LedgerHead = anchor == 0 ? LedgerChain.Genesis : ledger[anchor - 1].Hash,
                PreviousHash = previous,
            };
            row = row with { Hash = LedgerChain.ModelRowHash(previous, row) };
            models.Add(row);
            previous = row.Hash;
        }

        return (ledger, models);
    }

    internal static string Generate()
    {
        (List<LedgerRecord> ledger, List<ModelVersionRecord> models) = Rows();
        var root = new JsonObject
        {
            ["description"] = "Coordinator store hash chains (protocol-spec/ledger.md §1). Recompute each rowHash from the row's fields and the previous row's hash (64 zeros for the first); recordedAt/releasedAt are Unix milliseconds; roundEpsilon/totalEpsilon are hashed as the IEEE-754 bits given in *Bits; modelDigest is SHA-256 of the model bytes.",
            ["reference"] = "protocol-spec/ledger.md",
            ["ledger"] = new JsonArray([.. ledger.Select(r => (JsonNode)new JsonObject
            {
                ["sequence"] = r.Sequence,
                ["roundId"] = r.RoundId,
                ["recordedAt"] = r.RecordedAt.ToUnixTimeMilliseconds(),
                ["parameters"] = r.ParametersJson,
                ["contributingClients"] = r.ContributingClients,
                ["roundEpsilon"] = r.RoundEpsilon,
                ["roundEpsilonBits"] = BitConverter.DoubleToUInt64Bits(r.RoundEpsilon).ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
                ["totalEpsilon"] = r.TotalEpsilon,
                ["totalEpsilonBits"] = BitConverter.DoubleToUInt64Bits(r.TotalEpsilon).ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
                ["previousHash"] = r.PreviousHash,
                ["rowHash"] = r.Hash,
            })]),
            ["models"] = new JsonArray([.. models.Select(m => (JsonNode)new JsonObject
            {
                ["version"] = m.Version,
                ["roundId"] = m.RoundId,
                ["model"] = Convert.ToHexStringLower(m.Model),
                ["modelDigest"] = m.ModelDigest,
                ["epsilon"] = m.Epsilon,
                ["releasedAt"] = m.ReleasedAt.ToUnixTimeMilliseconds(),
                ["ledgerCount"] = m.LedgerCount,
                ["ledgerHead"] = m.LedgerHead,
                ["previousHash"] = m.PreviousHash,
                ["rowHash"] = m.Hash,
            })]),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    [Fact]
    public void The_published_file_is_what_the_chain_computes()
    {
        string generated = Generate();
        if (Environment.GetEnvironmentVariable("SFR_WRITE_VECTORS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(VectorPath())!);
            File.WriteAllText(VectorPath(), generated);
        }

        Assert.Equal(generated, File.ReadAllText(VectorPath()));
    }

    [Fact]
    public void The_published_rows_replay_from_the_file_alone_and_verify()
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(VectorPath()))!;
        var ledger = root["ledger"]!.AsArray().Select(r => new LedgerRecord(
            r!["sequence"]!.GetValue<long>(), r["roundId"]!.GetValue<string>(), DateTimeOffset.FromUnixTimeMilliseconds(r["recordedAt"]!.GetValue<long>()),
            r["parameters"]!.GetValue<string>(), r["contributingClients"]!.GetValue<int>(),
            BitConverter.UInt64BitsToDouble(Convert.ToUInt64(r["roundEpsilonBits"]!.GetValue<string>(), 16)),
            BitConverter.UInt64BitsToDouble(Convert.ToUInt64(r["totalEpsilonBits"]!.GetValue<string>(), 16)))
        {
            PreviousHash = r["previousHash"]!.GetValue<string>(),
            Hash = r["rowHash"]!.GetValue<string>(),
        }).ToList();
        var models = root["models"]!.AsArray().Select(m => new ModelVersionRecord(
            m!["version"]!.GetValue<long>(), m["roundId"]!.GetValue<long>(), Convert.FromHexString(m["model"]!.GetValue<string>()),
            m["epsilon"]!.GetValue<string>(), DateTimeOffset.FromUnixTimeMilliseconds(m["releasedAt"]!.GetValue<long>()))
        {
            ModelDigest = m["modelDigest"]!.GetValue<string>(),
            LedgerCount = m["ledgerCount"]!.GetValue<long>(),
            LedgerHead = m["ledgerHead"]!.GetValue<string>(),
            PreviousHash = m["previousHash"]!.GetValue<string>(),
            Hash = m["rowHash"]!.GetValue<string>(),
        }).ToList();
        foreach (LedgerRecord row in ledger)
        {
            Assert.Equal(row.Hash, LedgerChain.LedgerRowHash(row.PreviousHash, row));
        }

        foreach (ModelVersionRecord model in models)
        {
            Assert.Equal(model.ModelDigest, LedgerChain.ModelDigest(model.Model));
            Assert.Equal(model.Hash, LedgerChain.ModelRowHash(model.PreviousHash, model));
        }

        Assert.True(LedgerChain.Verify(ledger, models).Intact);
        Assert.False(LedgerChain.Verify(ledger[..1], models).Intact);
        Assert.False(LedgerChain.Verify([ledger[0] with { TotalEpsilon = 0.1 }, ledger[1]], models).Intact);
    }
}
