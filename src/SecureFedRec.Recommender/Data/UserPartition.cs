using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Data;

/// <summary>
/// An assignment of every user to exactly one client (a silo in the cross-silo shape, or the user's own device in
/// the cross-device shape). Reproducible: <see cref="Random"/> depends only on the user count, client count and seed.
/// Immutable; thread-safe.
/// </summary>
public sealed class UserPartition
{
    private readonly int[] clientOfUser;
    private readonly int[][] usersOfClient;

    private UserPartition(int[] clientOfUser, int clients)
    {
        this.clientOfUser = clientOfUser;
        var lists = new List<int>[clients];
        for (var c = 0; c < clients; c++)
        {
            lists[c] = [];
        }

        for (var u = 0; u < clientOfUser.Length; u++)
        {
            lists[clientOfUser[u]].Add(u);
        }

        usersOfClient = lists.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>Number of clients.</summary>
    public int ClientCount => usersOfClient.Length;

    /// <summary>Number of users.</summary>
    public int UserCount => clientOfUser.Length;

    /// <summary>The client holding a user.</summary>
    public int ClientOf(int user) => clientOfUser[user];

    /// <summary>The users held by a client, ascending.</summary>
    public IReadOnlyList<int> UsersOf(int client) => usersOfClient[client];

    /// <summary>
    /// Shuffles the users with a seeded stream and deals them round-robin, so client sizes differ by at most one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">clients &lt; 1 or more clients than users.</exception>
    public static UserPartition Random(int userCount, int clients, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clients, userCount);
        var users = Enumerable.Range(0, userCount).ToArray();
        using (var rng = Rng.ForPurpose(seed, "partition"))
        {
            rng.Shuffle(users.AsSpan());
        }

        var clientOf = new int[userCount];
        for (var position = 0; position < users.Length; position++)
        {
            clientOf[users[position]] = position % clients;
        }

        return new UserPartition(clientOf, clients);
    }

    /// <summary>One user per client (the cross-device shape): client c holds user c.</summary>
    public static UserPartition OnePerUser(int userCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(userCount, 1);
        return new UserPartition(Enumerable.Range(0, userCount).ToArray(), userCount);
    }

    /// <summary>
    /// Partition by a column: users with the same key (an institution, a region) share a client; clients are numbered
    /// in order of the keys' first appearance by user index.
    /// </summary>
    /// <exception cref="ArgumentException">A key is null or empty.</exception>
    public static UserPartition ByKey(int userCount, Func<int, string> keyOfUser)
    {
        ArgumentNullException.ThrowIfNull(keyOfUser);
        ArgumentOutOfRangeException.ThrowIfLessThan(userCount, 1);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var clientOf = new int[userCount];
        for (var u = 0; u < userCount; u++)
        {
            var key = keyOfUser(u);
            if (string.IsNullOrEmpty(key))
            {
                throw new ArgumentException($"user {u} has no partition key", nameof(keyOfUser));
            }

            if (!ids.TryGetValue(key, out var c))
            {
                c = ids.Count;
                ids.Add(key, c);
            }

            clientOf[u] = c;
        }

        return new UserPartition(clientOf, ids.Count);
    }

    /// <summary>
    /// Reads a <c>user,group</c> CSV (source user ids as in the ratings file, optional header) and partitions by group.
    /// </summary>
    /// <exception cref="DatasetFormatException">A line is malformed, a user is unknown or repeated, or a user has no group.</exception>
    public static UserPartition FromGroupFile(RatingDataset dataset, string path)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var u = 0; u < dataset.UserCount; u++)
        {
            index[dataset.UserId(u)] = u;
        }

        var groups = new string?[dataset.UserCount];
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || (i == 0 && !index.ContainsKey(line.Split(',')[0].Trim())))
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length != 2 || fields[1].Trim().Length == 0)
            {
                throw new DatasetFormatException(path, i + 1, "expected \"user,group\"");
            }

            if (!index.TryGetValue(fields[0].Trim(), out var user))
            {
                throw new DatasetFormatException(path, i + 1, $"user {fields[0].Trim()} is not in {dataset.Name}");
            }

            if (groups[user] is not null)
            {
                throw new DatasetFormatException(path, i + 1, $"user {fields[0].Trim()} has a group already");
            }

            groups[user] = fields[1].Trim();
        }

        var missing = Array.FindIndex(groups, g => g is null);
        if (missing >= 0)
        {
            throw new DatasetFormatException(path, 0, $"user {dataset.UserId(missing)} has no group");
        }

        return ByKey(dataset.UserCount, u => groups[u]!);
    }
}
