using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Roster;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Fuzz;

/// <summary>One fuzz target: an entry point that must end every input in a typed refusal. Any other exception escapes and
/// is reported by AFL/libFuzzer as a crash.</summary>
/// <param name="Name">The command-line name.</param>
/// <param name="Description">What is fed where, and what a pass means.</param>
/// <param name="Run">Runs one input.</param>
/// <param name="Seeds">The seed inputs (written by <c>seed</c>).</param>
internal sealed record Target(string Name, string Description, Action<byte[]> Run, Func<IEnumerable<byte[]>> Seeds);

/// <summary>Every parser the coordinator and the SDK read untrusted or on-disk bytes with.</summary>
internal static class Targets
{
    private static readonly Phase[] Phases = [Phase.AdvertiseKeys, Phase.ShareKeys, Phase.MaskedInput, Phase.Unmasking];

    private static readonly Lazy<RoundCorpus> Corpus = new(() => RoundCorpus.BuildAsync().GetAwaiter().GetResult());

    private static readonly Lazy<RoundHost[]> Hosts = new(() => [.. Phases.Select(p => Corpus.Value.ResumedInAsync(p).GetAwaiter().GetResult())]);

    private static readonly Lazy<string> Scratch = new(() => Directory.CreateTempSubdirectory("sfr-fuzz-").FullName);

    public static IReadOnlyList<Target> All { get; } =
    [
        new("client-message",
            "byte 0 picks the phase (bits 0-1) and the cohort member (bits 2-3); the rest is a ClientToServer encoding, parsed and "
            + "submitted to a round host resumed in that phase (one host per phase, reused across inputs). Pass: "
            + "InvalidProtocolBufferException, or a SubmitReply/FetchReply with a defined outcome.",
            ClientMessage, ClientMessageSeeds),
        new("journal-entry",
            "byte 0 is the entry kind, the rest its body: RoundJournalEntry.TryReadMessage and TryReadClose. Pass: true or false, never an exception.",
            JournalEntry, JournalEntrySeeds),
        new("roster",
            "a signed roster file (UTF-8 JSON): RosterFile.TryParse. Pass: a RosterCheck, never an exception.",
            bytes => RosterFile.TryParse(bytes, out _), RosterSeeds),
        new("client-ledger",
            "the client's privacy ledger file (JSON lines): FilePrivacyLedger.Open on the bytes. Pass: opened, or LedgerCorruptException/FormatException.",
            ClientLedger, () => [File.ReadAllBytes(Vector("client-ledger-v2.jsonl"))]),
        new("allow-list",
            "the coordinator's allow-list file: AllowList.Load. Pass: loaded, or FormatException/ArgumentException.",
            AllowListFile, AllowListSeeds),
        new("model",
            "a model download (RoundCodec.DecodeModel). Pass: decoded, or FormatException.",
            bytes => Expect(() => RoundCodec.DecodeModel(bytes), typeof(FormatException)),
            () => [RoundCodec.EncodeModel([0.5, -1, 2, 3]), RoundCodec.EncodeModel([]), RoundCodec.EncodeModel([double.MaxValue, double.Epsilon])]),
        new("round-info",
            "a round's contract as the SDK receives it: RoundInfo.Parser.ParseFrom then RoundCodec.FromWire. Pass: a contract, or "
            + "InvalidProtocolBufferException/FormatException.",
            bytes => Expect(() => RoundCodec.FromWire(RoundInfo.Parser.ParseFrom(bytes)), typeof(FormatException), typeof(InvalidProtocolBufferException)),
            () => [RoundCodec.ToWire(Corpus.Value.Opened!.Plan.Contract, 1).ToByteArray()]),
    ];

    private static void ClientMessage(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        int phaseIndex = input[0] & 3;
        int member = (input[0] >> 2) & 3;
        ClientToServer message;
        try
        {
            message = ClientToServer.Parser.ParseFrom(input.AsSpan(1));
        }
        catch (InvalidProtocolBufferException)
        {
            return;
        }

        RoundHost host = Hosts.Value[phaseIndex];
        IReadOnlyList<string> cohort = Corpus.Value.Opened!.Cohort;
        string caller = member < cohort.Count ? cohort[member] : "stranger";
        SubmitReply reply = host.Submit(caller, 1, Phases[phaseIndex], message);
        if (!Enum.IsDefined(reply.Outcome) || !Enum.IsDefined(reply.Refusal))
        {
            throw new InvalidOperationException($"undefined submit reply: {reply}");
        }

        FetchReply fetched = host.Fetch(caller, 1, Phases[phaseIndex]);
        if (!Enum.IsDefined(fetched.Outcome))
        {
            throw new InvalidOperationException($"undefined fetch reply: {fetched}");
        }
    }

    private static IEnumerable<byte[]> ClientMessageSeeds()
    {
        foreach ((Phase phase, byte[] bytes) in Corpus.Value.Messages)
        {
            int index = Array.IndexOf(Phases, phase);
            yield return [(byte)(index < 0 ? 0 : index), .. bytes];
        }
    }

    private static void JournalEntry(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var entry = new RoundJournalEntry(1, (RoundJournalEntryKind)input[0], input.AsMemory(1));
        if (entry.TryReadMessage(out int client, out _, out ClientToServer? message) && (client <= 0 || message is null))
        {
            throw new InvalidOperationException("TryReadMessage returned true with an invalid client or no message.");
        }

        if (entry.TryReadClose(out _, out _, out IReadOnlyDictionary<int, DropReason>? dropped) && dropped is null)
        {
            throw new InvalidOperationException("TryReadClose returned true without the dropped set.");
        }
    }

    private static IEnumerable<byte[]> JournalEntrySeeds()
    {
        var closeBody = new byte[12 + 8];
        BinaryPrimitives.WriteUInt32BigEndian(closeBody, (uint)Phase.ShareKeys);
        BinaryPrimitives.WriteUInt32BigEndian(closeBody.AsSpan(4), (uint)Phase.MaskedInput);
        BinaryPrimitives.WriteUInt32BigEndian(closeBody.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32BigEndian(closeBody.AsSpan(12), 2);
        BinaryPrimitives.WriteUInt32BigEndian(closeBody.AsSpan(16), 1);
        yield return [(byte)RoundJournalEntryKind.PhaseClosed, .. closeBody];
        foreach (RoundJournalEntry e in Corpus.Value.Entries.DistinctBy(e => e.Kind).Concat(Corpus.Value.Entries.Take(6)))
        {
            yield return [(byte)e.Kind, .. e.Body.Span];
        }
    }

    private static IEnumerable<byte[]> RosterSeeds()
    {
        using JsonDocument vectors = JsonDocument.Parse(File.ReadAllBytes(Vector(Path.Combine("roster", "roster.json"))));
        return [.. Strings(vectors.RootElement, "roster").Select(Encoding.UTF8.GetBytes)];
    }

    private static void ClientLedger(byte[] input)
    {
        string path = Path.Combine(Scratch.Value, "ledger.jsonl");
        File.WriteAllBytes(path, input);
        Expect(() => FilePrivacyLedger.Open(path, new PrivacyBudget(100, 1e-5)).Dispose(), typeof(LedgerCorruptException), typeof(FormatException));
    }

    private static void AllowListFile(byte[] input)
    {
        string path = Path.Combine(Scratch.Value, "allow-list.txt");
        File.WriteAllBytes(path, input);
        Expect(() => AllowList.Load(path, []), typeof(FormatException), typeof(ArgumentException));
    }

    private static IEnumerable<byte[]> AllowListSeeds()
    {
        using var identity = ClientIdentity.Generate();
        yield return Encoding.UTF8.GetBytes(Convert.ToHexString(identity.PublicKey) + " bank\n# comment\n\n");
        yield return Encoding.UTF8.GetBytes("# empty\n");
    }

    private static void Expect(Action call, params Type[] allowed)
    {
        try
        {
            call();
        }
        catch (Exception ex) when (allowed.Any(t => t.IsInstanceOfType(ex)))
        {
        }
    }

    /// <summary>A file under protocol-spec/vectors, found from the executable's folder upwards (or SFR_REPO).</summary>
    private static string Vector(string relative)
    {
        string? root = Environment.GetEnvironmentVariable("SFR_REPO");
        for (string? d = root ?? AppContext.BaseDirectory; d is not null; d = Path.GetDirectoryName(d))
        {
            string candidate = Path.Combine(d, "protocol-spec", "vectors", relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"protocol-spec/vectors/{relative} not found above {AppContext.BaseDirectory}; set SFR_REPO to the repository root.");
    }

    private static IEnumerable<string> Strings(JsonElement element, string name)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
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
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement e in element.EnumerateArray())
            {
                foreach (string s in Strings(e, name))
                {
                    yield return s;
                }
            }
        }
    }
}
