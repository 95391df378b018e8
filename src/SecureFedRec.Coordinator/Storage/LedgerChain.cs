using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>The head of the coordinator's privacy-ledger chain: how many rows and the hash of the last one (32 zero bytes
/// for an empty ledger). A client or auditor who recorded a head can later prove that no row up to it was removed or
/// changed: the chain from the stored rows must reach the same hash at the same count.</summary>
/// <param name="Count">Number of ledger rows.</param>
/// <param name="Hash">Lowercase hex SHA-256 row hash of row <paramref name="Count"/> (64 zeros when empty).</param>
public sealed record LedgerHead(long Count, string Hash)
{
    /// <summary>The head of an empty ledger.</summary>
    public static LedgerHead Empty { get; } = new(0, LedgerChain.Genesis);

    /// <summary><c>COUNT:HASH</c>, the form <c>securefedrec ledger verify --expect-head</c> takes.</summary>
    public override string ToString() => Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + Hash;

    /// <summary>Parses <c>COUNT:HASH</c>; false for anything else.</summary>
    public static bool TryParse(string? text, out LedgerHead head)
    {
        head = Empty;
        string[] parts = (text ?? string.Empty).Split(':');
        if (parts.Length != 2 || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long count)
            || parts[1].Length != 64 || !parts[1].All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
        {
            return false;
        }

        head = new LedgerHead(count, parts[1]);
        return true;
    }
}

/// <summary>What <see cref="ICoordinatorStore.VerifyLedgerAsync"/> found: intact, or the first broken row.</summary>
/// <param name="Intact">Whether every check passed.</param>
/// <param name="Table">The table of the first broken row (<c>ledger</c> or <c>models</c>), null when intact.</param>
/// <param name="Row">Its sequence number / model version (1-based position when the row itself is missing), 0 when intact.</param>
/// <param name="Problem">One line naming the rule that failed (or a summary when intact).</param>
/// <param name="Head">The head of the stored ledger (as stored, even when broken).</param>
public sealed record LedgerVerification(bool Intact, string? Table, long Row, string Problem, LedgerHead Head)
{
    /// <summary>One line for logs and the CLI.</summary>
    public override string ToString() => Intact ? Problem : $"{Table} row {Row}: {Problem}";
}

/// <summary>
/// The hash chains of the coordinator store (<c>protocol-spec/ledger.md</c>): every ledger row and every released model
/// row commits to the previous row's hash, and every model row records the ledger head it was released under, so that
/// editing, reordering or deleting a row — including the last ledger row charged for a released model — is detected.
/// </summary>
/// <remarks>
/// <para>Ledger row hash = SHA-256(<c>"SecureFedRec/v1"</c> ‖ 0x00 ‖ <c>"ledger-row"</c> ‖ 0x00 ‖ parts), parts each u32
/// big-endian length ‖ bytes: previous row hash (32 bytes; zeros for row 1), sequence (u64), round id (ASCII), recorded-at
/// (i64 Unix ms), mechanism parameters (the stored JSON text, UTF-8), contributing clients (u32), round ε and total ε
/// (IEEE 754 binary64 bits as u64).</para>
/// <para>Model row hash = SHA-256(<c>"SecureFedRec/v1"</c> ‖ 0x00 ‖ <c>"model-row"</c> ‖ 0x00 ‖ parts): previous model row hash
/// (zeros for version 1), version (u64), round id (i64), SHA-256 of the model bytes (32), ε text (ASCII), released-at
/// (i64 Unix ms), ledger count (u64), ledger head hash (32).</para>
/// <para>There is no secret in either chain: it detects changes by anyone who cannot also rewrite every later row and
/// every head recorded outside the store. Stateless and thread-safe.</para>
/// </remarks>
public static class LedgerChain
{
    /// <summary>The previous-hash of the first row and the head of an empty chain: 32 zero bytes, hex.</summary>
    public static readonly string Genesis = new('0', 64);

    private static readonly byte[] LedgerPrefix = Encoding.ASCII.GetBytes("SecureFedRec/v1\0ledger-row\0");
    private static readonly byte[] ModelPrefix = Encoding.ASCII.GetBytes("SecureFedRec/v1\0model-row\0");

    /// <summary>The row hash of ledger row <paramref name="row"/> after <paramref name="previousHash"/>.</summary>
    public static string LedgerRowHash(string previousHash, LedgerRecord row)
    {
        ArgumentNullException.ThrowIfNull(row);
        using var b = new MemoryStream();
        b.Write(LedgerPrefix);
        Part(b, Convert.FromHexString(previousHash));
        PartU64(b, (ulong)row.Sequence);
        Part(b, Encoding.ASCII.GetBytes(row.RoundId));
        PartU64(b, (ulong)row.RecordedAt.ToUnixTimeMilliseconds());
        Part(b, Encoding.UTF8.GetBytes(row.ParametersJson));
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)row.ContributingClients);
        Part(b, u32);
        PartU64(b, BitConverter.DoubleToUInt64Bits(row.RoundEpsilon));
        PartU64(b, BitConverter.DoubleToUInt64Bits(row.TotalEpsilon));
        return Convert.ToHexStringLower(SHA256.HashData(b.ToArray()));
    }

    /// <summary>Lowercase hex SHA-256 of model bytes.</summary>
    public static string ModelDigest(ReadOnlySpan<byte> model) => Convert.ToHexStringLower(SHA256.HashData(model));

    /// <summary>The row hash of model row <paramref name="row"/> after <paramref name="previousHash"/>.</summary>
    public static string ModelRowHash(string previousHash, ModelVersionRecord row)
    {
        ArgumentNullException.ThrowIfNull(row);
        using var b = new MemoryStream();
        b.Write(ModelPrefix);
        Part(b, Convert.FromHexString(previousHash));
        PartU64(b, (ulong)row.Version);
        PartU64(b, (ulong)row.RoundId);
        Part(b, Convert.FromHexString(row.ModelDigest));
        Part(b, Encoding.ASCII.GetBytes(row.Epsilon));
        PartU64(b, (ulong)row.ReleasedAt.ToUnixTimeMilliseconds());
        PartU64(b, (ulong)row.LedgerCount);
        Part(b, Convert.FromHexString(row.LedgerHead));
        return Convert.ToHexStringLower(SHA256.HashData(b.ToArray()));
    }

    /// <summary>
    /// Verifies both chains and the anchors, in this order (the first failure is reported): ledger rows (sequence = position,
    /// previous hash = the row before's hash, row hash = recomputed), model rows (likewise, by version), then each model's
    /// anchor (its ledger count is at most the stored count and not below the previous model's, and its ledger head is the
    /// hash of the ledger row at that count), then <paramref name="expected"/> when given (a head recorded outside the
    /// store: the stored ledger must contain it).
    /// </summary>
    public static LedgerVerification Verify(IReadOnlyList<LedgerRecord> ledger, IReadOnlyList<ModelVersionRecord> models, LedgerHead? expected = null)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(models);
        LedgerHead head = ledger.Count == 0 ? LedgerHead.Empty : new LedgerHead(ledger[^1].Sequence, ledger[^1].Hash);
        string previous = Genesis;
        for (int i = 0; i < ledger.Count; i++)
        {
            LedgerRecord row = ledger[i];
            if (row.Sequence != i + 1)
            {
                return Broken("ledger", i + 1, $"expected sequence {i + 1}, found {row.Sequence}: a row was deleted or reordered", head);
            }

            if (!IsHash(row.PreviousHash) || !IsHash(row.Hash))
            {
                return Broken("ledger", row.Sequence, "missing or malformed chain hash", head);
            }

            if (row.PreviousHash != previous)
            {
                return Broken("ledger", row.Sequence, "its previous-row hash is not the hash of row " + (i == 0 ? "0 (genesis)" : i.ToString(System.Globalization.CultureInfo.InvariantCulture)) + ": a row before it was deleted, inserted or replaced", head);
            }

            if (LedgerRowHash(previous, row) != row.Hash)
            {
                return Broken("ledger", row.Sequence, "its stored hash does not match its contents: the row was edited (round id, time, parameters, clients or ε)", head);
            }

            previous = row.Hash;
        }

        previous = Genesis;
        long anchored = 0;
        for (int i = 0; i < models.Count; i++)
        {
            ModelVersionRecord model = models[i];
            if (model.Version != i + 1)
            {
                return Broken("models", i + 1, $"expected version {i + 1}, found {model.Version}: a model row was deleted or reordered", head);
            }

            if (!IsHash(model.PreviousHash) || !IsHash(model.Hash) || !IsHash(model.ModelDigest) || !IsHash(model.LedgerHead))
            {
                return Broken("models", model.Version, "missing or malformed chain hash", head);
            }

            if (model.PreviousHash != previous)
            {
                return Broken("models", model.Version, "its previous-row hash is not the hash of the model row before it", head);
            }

            if (ModelRowHash(previous, model) != model.Hash)
            {
                return Broken("models", model.Version, "its stored hash does not match its contents (round, model digest, ε, time or ledger anchor edited)", head);
            }

            if (model.LedgerCount < anchored)
            {
                return Broken("models", model.Version, $"released under ledger row {model.LedgerCount}, before the previous model's {anchored}", head);
            }

            if (model.LedgerCount > ledger.Count)
            {
                return Broken("ledger", ledger.Count + 1,
                    $"the ledger ends at row {ledger.Count} but model version {model.Version} was released under {model.LedgerCount} rows: ledger rows were deleted (truncation)", head);
            }

            string anchorHash = model.LedgerCount == 0 ? Genesis : ledger[(int)model.LedgerCount - 1].Hash;
            if (anchorHash != model.LedgerHead)
            {
                return Broken("ledger", model.LedgerCount, $"its hash is not the ledger head model version {model.Version} was released under: the ledger was rewritten", head);
            }

            anchored = model.LedgerCount;
            previous = model.Hash;
        }

        if (expected is not null)
        {
            if (expected.Count > ledger.Count)
            {
                return Broken("ledger", ledger.Count + 1, $"the ledger ends at row {ledger.Count} but the expected head is at row {expected.Count}: rows were deleted", head);
            }

            string at = expected.Count == 0 ? Genesis : ledger[(int)expected.Count - 1].Hash;
            if (at != expected.Hash)
            {
                return Broken("ledger", expected.Count, "its hash is not the expected head: the ledger was rewritten", head);
            }
        }

        return new LedgerVerification(true, null, 0,
            $"intact: {ledger.Count} ledger rows, {models.Count} model versions, head {head}", head);
    }

    private static LedgerVerification Broken(string table, long row, string problem, LedgerHead head) => new(false, table, row, problem, head);

    private static bool IsHash(string? hex) => hex is { Length: 64 } && hex.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    private static void Part(Stream b, ReadOnlySpan<byte> bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
        b.Write(length);
        b.Write(bytes);
    }

    private static void PartU64(Stream b, ulong value)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(v, value);
        Part(b, v);
    }
}
