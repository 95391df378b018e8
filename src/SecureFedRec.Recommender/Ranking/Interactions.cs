using System.Globalization;
using System.Text;
using SecureFedRec.Recommender.Data;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>What kind of implicit signal an interaction event records.</summary>
public enum EventKind
{
    /// <summary>The user viewed the item (weakest signal; default weight 1).</summary>
    View = 0,

    /// <summary>The user clicked the item (default weight 2).</summary>
    Click = 1,

    /// <summary>The user bought the item (default weight 4).</summary>
    Purchase = 2,

    /// <summary>An explicit rating at or above the binarization threshold (default weight 1).</summary>
    Rating = 3,
}

/// <summary>
/// One implicit-feedback event with dense indices: <see cref="User"/> in [0, users), <see cref="Item"/> in [0, items),
/// a positive finite <see cref="Weight"/> (the confidence the models give it) and the source's timestamp (or line
/// order when the source has none). Immutable value type; thread-safe.
/// </summary>
public readonly record struct InteractionEvent(int User, int Item, EventKind Kind, float Weight, long Timestamp)
{
    /// <summary>The weight an event of <paramref name="kind"/> gets when the source gives none: view 1, click 2, purchase 4, rating 1.</summary>
    public static float DefaultWeight(EventKind kind) => kind switch
    {
        EventKind.Click => 2,
        EventKind.Purchase => 4,
        _ => 1,
    };
}

/// <summary>
/// A (user, item) pair after merging every event of the pair: summed weight, the latest timestamp, and the position
/// of that latest event in the source (to break timestamp ties deterministically).
/// </summary>
internal readonly record struct Interaction(int Item, float Weight, long Timestamp, int Order);

/// <summary>
/// Implicit-feedback data: events with dense user and item indices and the maps back to the source ids. Several
/// events of one (user, item) pair are allowed (a view then a purchase); the models see one interaction per pair with
/// the summed weight. Built by <see cref="InteractionLoader"/>, <see cref="FromRatings"/> or <see cref="FromEvents"/>;
/// immutable after construction, so safe to share between threads.
/// </summary>
public sealed class ImplicitDataset
{
    private readonly InteractionEvent[] events;
    private readonly string[] userIds;
    private readonly string[] itemIds;

    private ImplicitDataset(string name, InteractionEvent[] events, string[] userIds, string[] itemIds)
    {
        Name = name;
        this.events = events;
        this.userIds = userIds;
        this.itemIds = itemIds;
    }

    /// <summary>Where the data came from.</summary>
    public string Name { get; }

    /// <summary>All events in source order.</summary>
    public ReadOnlySpan<InteractionEvent> Events => events;

    /// <summary>Number of events.</summary>
    public int Count => events.Length;

    /// <summary>Number of users (indices 0 … UserCount − 1).</summary>
    public int UserCount => userIds.Length;

    /// <summary>Number of items (indices 0 … ItemCount − 1).</summary>
    public int ItemCount => itemIds.Length;

    /// <summary>The source's id of a dense user index.</summary>
    public string UserId(int user) => userIds[user];

    /// <summary>The source's id of a dense item index.</summary>
    public string ItemId(int item) => itemIds[item];

    /// <summary>
    /// Binarizes explicit ratings: a rating ≥ <paramref name="threshold"/> becomes a <see cref="EventKind.Rating"/>
    /// event of weight 1 with the rating's timestamp; lower ratings are dropped. Users and items keep their indices
    /// and ids (a user whose ratings all fall below the threshold simply has no interactions).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is not finite.</exception>
    public static ImplicitDataset FromRatings(RatingDataset ratings, double threshold)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        if (!double.IsFinite(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must be finite");
        }

        var list = new List<InteractionEvent>(ratings.Count);
        foreach (var r in ratings.Ratings)
        {
            if (r.Value >= threshold)
            {
                list.Add(new InteractionEvent(r.User, r.Item, EventKind.Rating, 1, r.Timestamp));
            }
        }

        var name = threshold <= ratings.MinRating ? ratings.Name : $"{ratings.Name} (ratings ≥ {threshold.ToString(CultureInfo.InvariantCulture)})";
        return new ImplicitDataset(
            name,
            list.ToArray(),
            Enumerable.Range(0, ratings.UserCount).Select(ratings.UserId).ToArray(),
            Enumerable.Range(0, ratings.ItemCount).Select(ratings.ItemId).ToArray());
    }

    /// <summary>Builds a dataset from events whose indices are already dense; ids are the indices' decimal strings.</summary>
    /// <exception cref="ArgumentException">An index is outside its range or a weight is not positive and finite.</exception>
    public static ImplicitDataset FromEvents(string name, IEnumerable<InteractionEvent> events, int userCount, int itemCount)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfNegative(userCount);
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        var array = events.ToArray();
        foreach (var e in array)
        {
            if ((uint)e.User >= (uint)userCount || (uint)e.Item >= (uint)itemCount)
            {
                throw new ArgumentException($"event ({e.User}, {e.Item}) is outside {userCount} users × {itemCount} items", nameof(events));
            }

            if (!(e.Weight > 0) || !float.IsFinite(e.Weight))
            {
                throw new ArgumentException($"event ({e.User}, {e.Item}) has weight {e.Weight}; weights must be positive and finite", nameof(events));
            }
        }

        return new ImplicitDataset(
            name,
            array,
            Enumerable.Range(0, userCount).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray(),
            Enumerable.Range(0, itemCount).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray());
    }

    internal static ImplicitDataset FromLoaded(string name, InteractionEvent[] events, string[] userIds, string[] itemIds) =>
        new(name, events, userIds, itemIds);

    /// <summary>
    /// Merged interactions per user: one entry per distinct item (summed weight, latest timestamp), ordered by
    /// (timestamp, source order) so the last entry is the user's latest interaction.
    /// </summary>
    internal Interaction[][] ByUser()
    {
        var maps = new Dictionary<int, Interaction>[UserCount];
        for (var order = 0; order < events.Length; order++)
        {
            var e = events[order];
            var map = maps[e.User] ??= [];
            map[e.Item] = map.TryGetValue(e.Item, out var old)
                ? (e.Timestamp >= old.Timestamp
                    ? new Interaction(e.Item, old.Weight + e.Weight, e.Timestamp, order)
                    : old with { Weight = old.Weight + e.Weight })
                : new Interaction(e.Item, e.Weight, e.Timestamp, order);
        }

        var result = new Interaction[UserCount][];
        for (var u = 0; u < UserCount; u++)
        {
            result[u] = maps[u] is { } m
                ? m.Values.OrderBy(x => x.Timestamp).ThenBy(x => x.Order).ToArray()
                : [];
        }

        return result;
    }
}

/// <summary>
/// Loads implicit feedback: MovieLens ratings binarized at a threshold (through <see cref="DatasetLoader"/>, so the
/// same strict checks apply), or a generic events CSV with the header <c>user,item,kind[,weight[,timestamp]]</c>
/// (kind one of view, click, purchase, rating; weight positive and finite, default by kind; timestamp an integer,
/// default the line number). Ids are remapped to dense indices in order of first appearance. A malformed line raises
/// <see cref="DatasetFormatException"/> naming the file, the line and the problem; nothing partial is returned.
/// Stateless and thread-safe.
/// </summary>
public static class InteractionLoader
{
    /// <summary>The header line an events CSV starts with (the weight and timestamp columns are optional).</summary>
    public const string EventsHeader = "user,item,kind,weight,timestamp";

    /// <summary>Loads a ratings file (any <see cref="DatasetFormat"/>) and keeps ratings ≥ <paramref name="threshold"/>.</summary>
    /// <exception cref="DatasetFormatException">The file is malformed.</exception>
    public static ImplicitDataset LoadRatings(string path, double threshold)
    {
        var ratings = DatasetLoader.Load(path);
        return ImplicitDataset.FromRatings(ratings, threshold);
    }

    /// <summary>Loads an events CSV file.</summary>
    /// <exception cref="DatasetFormatException">The file is malformed or has no events.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static ImplicitDataset LoadEvents(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"events file not found: {path}", path);
        }

        return ParseEvents(File.ReadAllText(path, new UTF8Encoding(false, true)), path);
    }

    /// <summary>Parses events CSV text; <paramref name="name"/> is used in errors.</summary>
    /// <exception cref="DatasetFormatException">The text is malformed or has no events.</exception>
    public static ImplicitDataset ParseEvents(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0].TrimEnd('\r').Trim().Length == 0)
        {
            throw new DatasetFormatException(name, 1, $"expected the header \"{EventsHeader}\"");
        }

        var header = lines[0].TrimEnd('\r').Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
        string[] expected = ["user", "item", "kind", "weight", "timestamp"];
        if (header.Length < 3 || header.Length > 5 || !header.SequenceEqual(expected.Take(header.Length)))
        {
            throw new DatasetFormatException(name, 1, $"expected the header \"{EventsHeader}\" (weight and timestamp optional), found \"{lines[0].TrimEnd('\r')}\"");
        }

        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        var items = new Dictionary<string, int>(StringComparer.Ordinal);
        var events = new List<InteractionEvent>();
        var last = lines.Length - 1;
        while (last > 0 && lines[last].TrimEnd('\r').Length == 0)
        {
            last--;
        }

        for (var index = 1; index <= last; index++)
        {
            var lineNumber = index + 1;
            var line = lines[index].TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, "empty line");
            }

            var fields = line.Split(',');
            if (fields.Length != header.Length)
            {
                throw new DatasetFormatException(name, lineNumber, $"expected {header.Length} fields, found {fields.Length}");
            }

            var userKey = fields[0].Trim();
            var itemKey = fields[1].Trim();
            if (userKey.Length == 0 || itemKey.Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, userKey.Length == 0 ? "empty user id" : "empty item id");
            }

            if (!TryParseKind(fields[2].Trim(), out var kind))
            {
                throw new DatasetFormatException(name, lineNumber, $"kind \"{fields[2].Trim()}\" is not one of view, click, purchase, rating");
            }

            var weight = InteractionEvent.DefaultWeight(kind);
            if (header.Length >= 4 && fields[3].Trim().Length > 0)
            {
                if (!float.TryParse(fields[3].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out weight) || !float.IsFinite(weight) || weight <= 0)
                {
                    throw new DatasetFormatException(name, lineNumber, $"weight \"{fields[3].Trim()}\" is not a positive finite number");
                }
            }

            long timestamp = lineNumber;
            if (header.Length == 5 && !long.TryParse(fields[4].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out timestamp))
            {
                throw new DatasetFormatException(name, lineNumber, $"timestamp \"{fields[4].Trim()}\" is not an integer");
            }

            if (!users.TryGetValue(userKey, out var user))
            {
                user = users.Count;
                users.Add(userKey, user);
            }

            if (!items.TryGetValue(itemKey, out var item))
            {
                item = items.Count;
                items.Add(itemKey, item);
            }

            events.Add(new InteractionEvent(user, item, kind, weight, timestamp));
        }

        if (events.Count == 0)
        {
            throw new DatasetFormatException(name, 0, "the file contains no events");
        }

        return ImplicitDataset.FromLoaded(name, events.ToArray(), users.Keys.ToArray(), items.Keys.ToArray());
    }

    private static bool TryParseKind(string text, out EventKind kind)
    {
        switch (text.ToLowerInvariant())
        {
            case "view": kind = EventKind.View; return true;
            case "click": kind = EventKind.Click; return true;
            case "purchase": kind = EventKind.Purchase; return true;
            case "rating": kind = EventKind.Rating; return true;
            default: kind = default; return false;
        }
    }
}
