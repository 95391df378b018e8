using System.Globalization;
using System.Text;

namespace SecureFedRec.Recommender.Data;

/// <summary>Ratings file formats understood by <see cref="DatasetLoader"/>.</summary>
public enum DatasetFormat
{
    /// <summary>Chosen from the file name: <c>u.data</c>, <c>ratings.dat</c>, or a CSV (header sniffed).</summary>
    Auto = 0,

    /// <summary>MovieLens latest(-small) <c>ratings.csv</c>: header <c>userId,movieId,rating,timestamp</c>; ratings 0.5–5 in halves.</summary>
    MovieLensCsv = 1,

    /// <summary>MovieLens 100K <c>u.data</c>: <c>user TAB item TAB rating TAB timestamp</c>; ratings 1–5.</summary>
    MovieLens100K = 2,

    /// <summary>MovieLens 1M <c>ratings.dat</c>: <c>UserID::MovieID::Rating::Timestamp</c>; ratings 1–5.</summary>
    MovieLens1M = 3,

    /// <summary>Generic CSV <c>user,item,rating[,timestamp]</c>, optional header line; any finite rating.</summary>
    GenericCsv = 4,
}

/// <summary>
/// Loads explicit ratings (MovieLens latest-small / 100K / 1M, generic CSV) and remaps user and item ids to dense
/// indices in order of first appearance. Strict: a line with the wrong number of fields, an empty id, a rating or
/// timestamp that does not parse or is out of range, a repeated (user, item) pair, a blank line before the end, a last
/// line cut short, or a file without ratings raises <see cref="DatasetFormatException"/> naming the file, the line and
/// the problem; nothing partial is returned. Stateless and thread-safe.
/// </summary>
public static class DatasetLoader
{
    /// <summary>The header the MovieLens latest files start with.</summary>
    public const string MovieLensCsvHeader = "userId,movieId,rating,timestamp";

    /// <summary>Loads a ratings file.</summary>
    /// <exception cref="DatasetFormatException">The file is malformed, truncated or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static RatingDataset Load(string path, DatasetFormat format = DatasetFormat.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"ratings file not found: {path}", path);
        }

        using var stream = File.OpenRead(path);
        return Load(stream, path, format);
    }

    /// <summary>Loads ratings from a stream; <paramref name="name"/> is used in errors and to pick the format when Auto.</summary>
    /// <exception cref="DatasetFormatException">The content is malformed, truncated or empty.</exception>
    public static RatingDataset Load(Stream stream, string name, DatasetFormat format = DatasetFormat.Auto)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        string text;
        using (var reader = new StreamReader(stream, new UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: true))
        {
            try
            {
                text = reader.ReadToEnd();
            }
            catch (DecoderFallbackException)
            {
                throw new DatasetFormatException(name, 0, "not valid UTF-8 text");
            }
        }

        if (format == DatasetFormat.Auto)
        {
            format = Detect(name, text);
        }

        return Parse(text, name, format);
    }

    private static DatasetFormat Detect(string name, string text)
    {
        var file = Path.GetFileName(name);
        if (file.Equals("u.data", StringComparison.OrdinalIgnoreCase))
        {
            return DatasetFormat.MovieLens100K;
        }

        if (file.EndsWith(".dat", StringComparison.OrdinalIgnoreCase) || text.AsSpan(0, Math.Min(text.Length, 4096)).Contains("::", StringComparison.Ordinal))
        {
            return DatasetFormat.MovieLens1M;
        }

        // A MovieLens header starts with "userId,"; any other first line is a generic CSV (header optional).
        return text.StartsWith("userId,", StringComparison.Ordinal) ? DatasetFormat.MovieLensCsv : DatasetFormat.GenericCsv;
    }

    private static RatingDataset Parse(string text, string name, DatasetFormat format)
    {
        var (separator, fieldsMin, fieldsMax, minRating, maxRating, halves) = format switch
        {
            DatasetFormat.MovieLensCsv => (",", 4, 4, 0.5, 5.0, true),
            DatasetFormat.MovieLens100K => ("\t", 4, 4, 1.0, 5.0, false),
            DatasetFormat.MovieLens1M => ("::", 4, 4, 1.0, 5.0, false),
            DatasetFormat.GenericCsv => (",", 3, 4, double.NegativeInfinity, double.PositiveInfinity, false),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown dataset format"),
        };

        if (text.Length == 0)
        {
            throw new DatasetFormatException(name, 0, "the file contains no ratings");
        }

        var lines = text.Split('\n');
        var endsWithNewline = text.EndsWith('\n');
        var lineCount = endsWithNewline ? lines.Length - 1 : lines.Length;
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        var items = new Dictionary<string, int>(StringComparer.Ordinal);
        var userIds = new List<string>();
        var itemIds = new List<string>();
        var ratings = new List<Rating>();
        var firstLineOfPair = new Dictionary<long, int>();
        var first = 0;
        if (format == DatasetFormat.MovieLensCsv)
        {
            if (lineCount == 0 || lines[0].TrimEnd('\r') != MovieLensCsvHeader)
            {
                throw new DatasetFormatException(name, 1, $"expected the header \"{MovieLensCsvHeader}\"");
            }

            first = 1;
        }
        else if (format == DatasetFormat.GenericCsv && lineCount > 0 && LooksLikeHeader(lines[0]))
        {
            first = 1;
        }

        for (var index = first; index < lineCount; index++)
        {
            var lineNumber = index + 1;
            var line = lines[index].TrimEnd('\r');
            var isLast = index == lineCount - 1;
            if (line.Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, "empty line");
            }

            var fields = line.Split(separator);
            if (fields.Length < fieldsMin || fields.Length > fieldsMax)
            {
                var problem = isLast && !endsWithNewline && fields.Length < fieldsMin
                    ? $"truncated: the last line has {fields.Length} field(s), expected {Expected(fieldsMin, fieldsMax)}"
                    : $"expected {Expected(fieldsMin, fieldsMax)} fields separated by \"{Visible(separator)}\", found {fields.Length}";
                throw new DatasetFormatException(name, lineNumber, problem);
            }

            var userKey = fields[0].Trim();
            var itemKey = fields[1].Trim();
            if (userKey.Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, "empty user id");
            }

            if (itemKey.Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, "empty item id");
            }

            if (format != DatasetFormat.GenericCsv && (!IsDigits(userKey) || !IsDigits(itemKey)))
            {
                throw new DatasetFormatException(name, lineNumber, $"user and item ids must be non-negative integers, found \"{userKey}\" and \"{itemKey}\"");
            }

            if (!double.TryParse(fields[2].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            {
                throw new DatasetFormatException(name, lineNumber, $"rating \"{fields[2]}\" is not a finite number");
            }

            if (value < minRating || value > maxRating || (halves ? Math.Abs((value * 2) - Math.Round(value * 2)) > 1e-9 : (format != DatasetFormat.GenericCsv && value != Math.Floor(value))))
            {
                throw new DatasetFormatException(name, lineNumber, $"rating {fields[2].Trim()} is outside the format's scale ({minRating}–{maxRating}{(halves ? " in steps of 0.5" : " whole stars")})");
            }

            long timestamp = index;
            if (fields.Length == 4 && !long.TryParse(fields[3].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out timestamp))
            {
                throw new DatasetFormatException(name, lineNumber, isLast && !endsWithNewline && fields[3].Trim().Length == 0
                    ? "truncated: the last line has no timestamp"
                    : $"timestamp \"{fields[3]}\" is not an integer");
            }

            if (!users.TryGetValue(userKey, out var user))
            {
                user = userIds.Count;
                users.Add(userKey, user);
                userIds.Add(userKey);
            }

            if (!items.TryGetValue(itemKey, out var item))
            {
                item = itemIds.Count;
                items.Add(itemKey, item);
                itemIds.Add(itemKey);
            }

            var pair = ((long)user << 32) | (uint)item;
            if (!firstLineOfPair.TryAdd(pair, lineNumber))
            {
                throw new DatasetFormatException(name, lineNumber, $"user {userKey} rated item {itemKey} already on line {firstLineOfPair[pair]}");
            }

            ratings.Add(new Rating(user, item, (float)value, timestamp));
        }

        if (ratings.Count == 0)
        {
            throw new DatasetFormatException(name, 0, "the file contains no ratings");
        }

        return RatingDataset.FromLoaded(name, ratings.ToArray(), userIds.ToArray(), itemIds.ToArray());
    }

    private static bool LooksLikeHeader(string line)
    {
        var fields = line.TrimEnd('\r').Split(',');
        return fields.Length >= 3 && !double.TryParse(fields[2].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _);
    }

    private static bool IsDigits(string s)
    {
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static string Expected(int min, int max) => min == max ? min.ToString(CultureInfo.InvariantCulture) : $"{min} or {max}";

    private static string Visible(string separator) => separator == "\t" ? "TAB" : separator;
}
