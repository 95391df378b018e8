using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SecureFedRec.Privacy.Ledger;

/// <summary>
/// A durable, append-only privacy ledger in one JSON-lines file (format in <c>protocol-spec/dp.md</c> §7.2 and §7.4).
/// Line 1 is a header; each further line is one record: a charged round, or (for a client, through
/// <see cref="IDisclosureLedger"/>) a pending reservation, its disclosure, its release or an abort after disclosure.
/// Every line ends with
/// <c>"sha256":"&lt;hex&gt;"</c> = SHA-256(previous line's hash ‖ the line's bytes before that field, closed by
/// <c>}</c>), so truncation, edits, deletions and reordering are detected on open (<see cref="LedgerCorruptException"/>
/// naming the file and line). Every record is written as one <c>write</c> and <c>fsync</c>ed before the call that
/// makes it (<see cref="PrivacyLedgerBase.Charge"/>, <see cref="Reserve"/>, <see cref="MarkDisclosed"/>,
/// <see cref="Release"/>) returns; a failed write is cut back so the file stays well-formed. A pending reservation
/// left unresolved by a crash is found at open, counted as charged and listed in <see cref="RecoveredReservations"/>. A new
/// file is created through a temporary file and an atomic rename. The file is held open exclusively (one writer per
/// ledger). Thread-safe. Dispose to release the file.
/// </summary>
public sealed class FilePrivacyLedger : PrivacyLedgerBase, IDisclosureLedger, IDisposable
{
    /// <summary>The header's format name.</summary>
    public const string FormatName = "securefedrec-privacy-ledger";

    /// <summary>
    /// The file format version written in new files: 2 (adds the disclosure records of §7.4). Version 1 files (charges
    /// only) are read and continued.
    /// </summary>
    public const int FormatVersion = 2;

    private const string Mechanism = "distributed-discrete-gaussian";

    private const string HashField = ",\"sha256\":\"";
    private readonly FileStream _stream;
    private readonly string _path;
    private byte[] _lastHash;
    private bool _disposed;

    private FilePrivacyLedger(string path, FileStream stream, PrivacyBudget budget, byte[] lastHash, TimeProvider? time)
        : base(budget, time)
    {
        _path = path;
        _stream = stream;
        _lastHash = lastHash;
    }

    /// <summary>The ledger file's path.</summary>
    public string FilePath => _path;

    /// <summary>
    /// Opens (or creates) the ledger at <paramref name="path"/>. Throws <see cref="LedgerCorruptException"/> when the
    /// file is truncated, tampered with or was created for another δ; <see cref="IOException"/> when another process
    /// holds it.
    /// </summary>
    public static FilePrivacyLedger Open(string path, PrivacyBudget budget, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(budget);
        budget.Validate();
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            CreateNew(full, budget, timeProvider ?? TimeProvider.System);
        }

        var stream = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.None);
        try
        {
            var (records, lastHash) = ReadAll(full, stream, budget);
            var ledger = new FilePrivacyLedger(full, stream, budget, lastHash, timeProvider);
            for (var i = 0; i < records.Count; i++)
            {
                var ok = records[i] switch
                {
                    LedgerEntry charge => ledger.RestoreOne(charge),
                    DisclosureRecord disclosure => ledger.RestoreOne(disclosure),
                    _ => false,
                };
                if (!ok)
                {
                    throw new LedgerCorruptException(full, i + 2, records[i] is DisclosureRecord
                        ? "the disclosure record does not follow from the records before it (sequence, round, state, pending record) or its ε disagrees with a recomputation."
                        : "the recorded sequence number, round id or ε does not match a recomputation from the recorded parameters.");
                }
            }

            stream.Seek(0, SeekOrigin.End);
            return ledger;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<Reservation> Reservations => ReservationsCore();

    /// <inheritdoc />
    public IReadOnlyList<Reservation> RecoveredReservations => RecoveredCore();

    /// <inheritdoc />
    public LedgerDecision PreviewReservation(RoundCharge charge) => PreviewReservationCore(charge);

    /// <inheritdoc />
    public LedgerDecision Reserve(RoundCharge charge) => ReserveCore(charge);

    /// <inheritdoc />
    public LedgerDecision MarkDisclosed(string roundId) => MarkDisclosedCore(roundId);

    /// <inheritdoc />
    public LedgerDecision Release(string roundId, bool keysAdvertised, string reason) => ReleaseCore(roundId, keysAdvertised, reason);

    /// <inheritdoc />
    public int CountAbortsSince(DateTimeOffset since) => CountAbortsSinceCore(since);

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _stream.Dispose();
        }
    }

    /// <inheritdoc />
    protected override void Persist(LedgerEntry entry) => Append(EntryBody(entry));

    /// <inheritdoc />
    protected override void PersistDisclosure(DisclosureRecord record) => Append(DisclosureBody(record));

    private void Append(byte[] body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var (line, hash) = Seal(body, _lastHash);
        var before = _stream.Length;
        try
        {
            _stream.Seek(0, SeekOrigin.End);
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
        }
        catch
        {
            // Cut a partial line back so that the file stays well-formed; the charge is not recorded.
            _stream.SetLength(before);
            _stream.Flush(flushToDisk: true);
            throw;
        }

        _lastHash = hash;
    }

    internal static byte[] EntryBody(LedgerEntry e)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            var p = e.Parameters;
            w.WriteStartObject();
            w.WriteNumber("seq", e.Sequence);
            w.WriteString("round", e.RoundId);
            w.WriteString("recordedAt", e.RecordedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("mechanism", Mechanism);
            WriteParameters(w, p);
            w.WriteNumber("contributingClients", e.ContributingClients);
            w.WriteNumber("roundEpsilon", e.RoundEpsilon);
            w.WriteNumber("totalEpsilon", e.TotalEpsilon);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static byte[] DisclosureBody(DisclosureRecord r)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("seq", r.Sequence);
            w.WriteString("kind", KindName(r.Kind));
            w.WriteString("round", r.RoundId);
            w.WriteString("recordedAt", r.RecordedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            if (r.Kind == DisclosureRecordKind.Pending)
            {
                var p = r.Parameters ?? throw new ArgumentException("A pending record carries its parameters.", nameof(r));
                w.WriteString("mechanism", Mechanism);
                WriteParameters(w, p);
                w.WriteNumber("announcedSamplingRate", r.AnnouncedSamplingRate);
                w.WriteNumber("contributingClients", r.ContributingClients);
                w.WriteNumber("roundEpsilon", r.RoundEpsilon);
                w.WriteNumber("amplifiedRoundEpsilon", r.AmplifiedRoundEpsilon);
            }
            else
            {
                w.WriteNumber("pendingSeq", r.PendingSequence);
                if (r.Kind != DisclosureRecordKind.Disclosed)
                {
                    w.WriteBoolean("keysAdvertised", r.KeysAdvertised);
                    w.WriteString("reason", r.Reason);
                }
            }

            w.WriteNumber("totalEpsilon", r.TotalEpsilon);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string KindName(DisclosureRecordKind kind) => kind switch
    {
        DisclosureRecordKind.Pending => "pending",
        DisclosureRecordKind.Disclosed => "disclosed",
        DisclosureRecordKind.Released => "released",
        DisclosureRecordKind.Aborted => "aborted",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown record kind."),
    };

    private static void WriteParameters(Utf8JsonWriter w, MechanismParameters p)
    {
        w.WriteNumber("dimension", p.Dimension);
        w.WriteNumber("bits", p.Bits);
        w.WriteNumber("clip", p.Clip);
        w.WriteNumber("gamma", p.Gamma);
        w.WriteNumber("beta", p.Beta);
        w.WriteNumber("sigma2Num", p.SigmaSquaredNumerator);
        w.WriteNumber("sigma2Den", p.SigmaSquaredDenominator);
        w.WriteNumber("plannedClients", p.PlannedClients);
        w.WriteNumber("minClients", p.MinClients);
        w.WriteNumber("delta", p.Delta);
        w.WriteNumber("samplingRate", p.SamplingRate);
        w.WriteNumber("k", p.K);
    }

    private static (byte[] Line, byte[] Hash) Seal(byte[] body, byte[] previousHash)
    {
        var input = new byte[previousHash.Length + body.Length];
        previousHash.CopyTo(input, 0);
        body.CopyTo(input, previousHash.Length);
        var hash = SHA256.HashData(input);
        var text = Encoding.UTF8.GetString(body, 0, body.Length - 1) + HashField + Convert.ToHexStringLower(hash) + "\"}\n";
        return (Encoding.UTF8.GetBytes(text), hash);
    }

    private static void CreateNew(string full, PrivacyBudget budget, TimeProvider time)
    {
        var dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", FormatVersion);
            w.WriteNumber("delta", budget.Delta);
            w.WriteString("created", time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }

        var (line, _) = Seal(buffer.WrittenSpan.ToArray(), []);
        var tmp = full + ".tmp-" + Convert.ToHexStringLower(RandomNumberGeneratorBytes());
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            fs.Write(line);
            fs.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(tmp, full, overwrite: false);
        }
        catch (IOException) when (File.Exists(full))
        {
            // Another opener created it first; use theirs.
            File.Delete(tmp);
        }
    }

    private static byte[] RandomNumberGeneratorBytes() => RandomNumberGenerator.GetBytes(8);

    private static (List<object> Records, byte[] LastHash) ReadAll(string path, FileStream stream, PrivacyBudget budget)
    {
        var bytes = new byte[stream.Length];
        stream.Seek(0, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        if (bytes.Length == 0)
        {
            throw new LedgerCorruptException(path, 1, "the file is empty (no header).");
        }

        if (bytes[^1] != (byte)'\n')
        {
            var lastLine = bytes.Count(b => b == (byte)'\n') + 1;
            throw new LedgerCorruptException(path, lastLine, "truncated record (the file does not end with a newline; a write was interrupted).");
        }

        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        var entries = new List<object>();
        var previous = Array.Empty<byte>();
        for (var i = 0; i < lines.Length - 1; i++)
        {
            var lineNo = i + 1;
            var line = lines[i];
            var at = line.LastIndexOf(HashField, StringComparison.Ordinal);
            if (at < 0 || !line.EndsWith("\"}", StringComparison.Ordinal) || line.Length != at + HashField.Length + 64 + 2)
            {
                throw new LedgerCorruptException(path, lineNo, "missing or malformed sha256 field.");
            }

            var body = Encoding.UTF8.GetBytes(line[..at] + "}");
            var claimed = line.Substring(at + HashField.Length, 64);
            var input = new byte[previous.Length + body.Length];
            previous.CopyTo(input, 0);
            body.CopyTo(input, previous.Length);
            var hash = SHA256.HashData(input);
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash)), Encoding.ASCII.GetBytes(claimed)))
            {
                throw new LedgerCorruptException(path, lineNo, "hash chain broken (the line or an earlier one was edited, removed or reordered).");
            }

            previous = hash;
            try
            {
                using var doc = JsonDocument.Parse(body);
                var root = doc.RootElement;
                if (i == 0)
                {
                    if (root.GetProperty("format").GetString() != FormatName || root.GetProperty("version").GetInt32() is not (1 or FormatVersion))
                    {
                        throw new LedgerCorruptException(path, lineNo, $"not a {FormatName} v1 or v{FormatVersion} header.");
                    }

                    var delta = root.GetProperty("delta").GetDouble();
                    if (delta != budget.Delta)
                    {
                        throw new LedgerCorruptException(path, lineNo, $"the ledger measures totals at δ = {delta:G6} but δ = {budget.Delta:G6} was configured.");
                    }

                    continue;
                }

                entries.Add(root.TryGetProperty("kind", out var kind) ? ParseDisclosure(root, kind.GetString()) : ParseEntry(root));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
            {
                throw new LedgerCorruptException(path, lineNo, $"unreadable record: {ex.Message}");
            }
        }

        return (entries, previous);
    }

    private static DisclosureRecord ParseDisclosure(JsonElement r, string? kindName)
    {
        var kind = kindName switch
        {
            "pending" => DisclosureRecordKind.Pending,
            "disclosed" => DisclosureRecordKind.Disclosed,
            "released" => DisclosureRecordKind.Released,
            "aborted" => DisclosureRecordKind.Aborted,
            _ => throw new FormatException($"unknown record kind '{kindName}'."),
        };
        var record = new DisclosureRecord(
            r.GetProperty("seq").GetInt64(),
            kind,
            r.GetProperty("round").GetString() ?? throw new FormatException("round id missing."),
            ParseTime(r),
            r.GetProperty("totalEpsilon").GetDouble());
        if (kind == DisclosureRecordKind.Pending)
        {
            return record with
            {
                Parameters = ParseParameters(r),
                AnnouncedSamplingRate = r.GetProperty("announcedSamplingRate").GetDouble(),
                ContributingClients = r.GetProperty("contributingClients").GetInt32(),
                RoundEpsilon = r.GetProperty("roundEpsilon").GetDouble(),
                AmplifiedRoundEpsilon = r.GetProperty("amplifiedRoundEpsilon").GetDouble(),
            };
        }

        record = record with { PendingSequence = r.GetProperty("pendingSeq").GetInt64() };
        return kind == DisclosureRecordKind.Disclosed
            ? record
            : record with { KeysAdvertised = r.GetProperty("keysAdvertised").GetBoolean(), Reason = r.GetProperty("reason").GetString() };
    }

    private static DateTimeOffset ParseTime(JsonElement r) =>
        DateTimeOffset.Parse(r.GetProperty("recordedAt").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static LedgerEntry ParseEntry(JsonElement r)
    {
        var p = ParseParameters(r);
        return new LedgerEntry(
            r.GetProperty("seq").GetInt64(),
            r.GetProperty("round").GetString() ?? throw new FormatException("round id missing."),
            ParseTime(r),
            p,
            r.GetProperty("contributingClients").GetInt32(),
            r.GetProperty("roundEpsilon").GetDouble(),
            r.GetProperty("totalEpsilon").GetDouble());
    }

    private static MechanismParameters ParseParameters(JsonElement r)
    {
        if (r.GetProperty("mechanism").GetString() != Mechanism)
        {
            throw new FormatException("unknown mechanism.");
        }

        var p = new MechanismParameters
        {
            Dimension = r.GetProperty("dimension").GetInt32(),
            Bits = r.GetProperty("bits").GetInt32(),
            Clip = r.GetProperty("clip").GetDouble(),
            Gamma = r.GetProperty("gamma").GetDouble(),
            Beta = r.GetProperty("beta").GetDouble(),
            SigmaSquaredNumerator = r.GetProperty("sigma2Num").GetUInt64(),
            SigmaSquaredDenominator = r.GetProperty("sigma2Den").GetUInt64(),
            PlannedClients = r.GetProperty("plannedClients").GetInt32(),
            MinClients = r.GetProperty("minClients").GetInt32(),
            Delta = r.GetProperty("delta").GetDouble(),
            SamplingRate = r.GetProperty("samplingRate").GetDouble(),
            K = r.GetProperty("k").GetDouble(),
        };
        p.Validate();
        return p;
    }
}
