using SecureFedRec.Recommender.Data;

namespace SecureFedRec.Recommender.Tests;

public sealed class DataTests
{
    private static readonly SyntheticOptions Small = new() { Users = 80, Items = 100, MedianRatingsPerUser = 20 };

    [Fact]
    public void Synthetic_data_is_deterministic_under_a_seed_and_depends_on_it()
    {
        var a = SyntheticDataset.Generate(Small, 5);
        var b = SyntheticDataset.Generate(Small, 5);
        var c = SyntheticDataset.Generate(Small, 6);
        Assert.True(a.Ratings.SequenceEqual(b.Ratings));
        Assert.False(a.Ratings.SequenceEqual(c.Ratings));
    }

    [Fact]
    public void Synthetic_data_respects_scale_activity_and_popularity_skew()
    {
        var ds = SyntheticDataset.Generate(Small, 5);
        Assert.Equal(80, ds.UserCount);
        var perUser = new int[ds.UserCount];
        var perItem = new int[ds.ItemCount];
        foreach (var r in ds.Ratings)
        {
            Assert.InRange(r.Value, 0.5f, 5f);
            Assert.Equal(0, (r.Value * 2) % 1);
            perUser[r.User]++;
            perItem[r.Item]++;
        }

        Assert.All(perUser, n => Assert.InRange(n, Small.MinRatingsPerUser, Small.Items / 2));
        var sorted = perItem.OrderDescending().ToArray();
        Assert.True(sorted[0] > 4 * Math.Max(1, sorted[^10]), "popularity skew: top item far above the tail");
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(10, 5)]
    public void Synthetic_options_out_of_range_are_refused(int users, int items)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticDataset.Generate(new SyntheticOptions { Users = users, Items = items }, 1));
    }

    [Fact]
    public void Random_partition_is_reproducible_balanced_and_complete()
    {
        var a = UserPartition.Random(103, 10, 9);
        var b = UserPartition.Random(103, 10, 9);
        var c = UserPartition.Random(103, 10, 10);
        Assert.Equal(Enumerable.Range(0, 103).Select(a.ClientOf), Enumerable.Range(0, 103).Select(b.ClientOf));
        Assert.NotEqual(Enumerable.Range(0, 103).Select(a.ClientOf), Enumerable.Range(0, 103).Select(c.ClientOf));
        var sizes = Enumerable.Range(0, 10).Select(k => a.UsersOf(k).Count).ToArray();
        Assert.Equal(103, sizes.Sum());
        Assert.True(sizes.Max() - sizes.Min() <= 1);
        Assert.Equal(103, Enumerable.Range(0, 10).SelectMany(a.UsersOf).Distinct().Count());
    }

    [Theory]
    [InlineData(10, 0)]
    [InlineData(10, 11)]
    public void Random_partition_refuses_bad_client_counts(int users, int clients)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => UserPartition.Random(users, clients, 1));
    }

    [Fact]
    public void Partition_by_key_groups_users_with_the_same_key()
    {
        string[] keys = ["bank", "clinic", "bank", "shop"];
        var p = UserPartition.ByKey(4, u => keys[u]);
        Assert.Equal(3, p.ClientCount);
        Assert.Equal([0, 2], p.UsersOf(0));
        Assert.Equal(1, p.ClientOf(1));
        Assert.Throws<ArgumentException>(() => UserPartition.ByKey(2, _ => ""));
    }

    [Fact]
    public void One_user_per_client_for_the_device_shape()
    {
        var p = UserPartition.OnePerUser(5);
        Assert.Equal(5, p.ClientCount);
        Assert.Equal([3], p.UsersOf(3));
    }

    [Theory]
    [InlineData("user,group\n7,a\n9,b\n", null)]
    [InlineData("7,a\n9\n", "expected \"user,group\"")]
    [InlineData("7,a\n8,b\n", "is not in")]
    [InlineData("7,a\n7,b\n", "has a group already")]
    [InlineData("7,a\n", "has no group")]
    public void Partition_from_a_group_file(string content, string? error)
    {
        var ds = RatingDataset.FromRatings("t", [new Rating(0, 0, 1, 0), new Rating(1, 0, 1, 0)], 2, 1);
        // FromRatings names users "0" and "1"; map the file's 7 and 9 onto them.
        content = content.Replace("7,", "0,", StringComparison.Ordinal).Replace("9", "1", StringComparison.Ordinal).Replace("8,", "5,", StringComparison.Ordinal);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, content);
            if (error is null)
            {
                var p = UserPartition.FromGroupFile(ds, path);
                Assert.Equal(2, p.ClientCount);
            }
            else
            {
                var ex = Assert.Throws<DatasetFormatException>(() => UserPartition.FromGroupFile(ds, path));
                Assert.Contains(error, ex.Problem, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Split_holds_out_the_latest_rating_and_a_seeded_fraction()
    {
        var ds = SyntheticDataset.Generate(Small, 5);
        var a = EvaluationSplit.Create(ds, 0.2, 3);
        var b = EvaluationSplit.Create(ds, 0.2, 3);
        var c = EvaluationSplit.Create(ds, 0.2, 4);
        Assert.Equal(a.RatingTest, b.RatingTest);
        Assert.NotEqual(a.RatingTest, c.RatingTest);
        Assert.Equal(ds.Count, a.Train.Count + a.RatingTest.Count + ds.UserCount);
        var byUser = ds.Ratings.ToArray().GroupBy(r => r.User).ToDictionary(g => g.Key, g => g.ToArray());
        for (var u = 0; u < ds.UserCount; u++)
        {
            var latest = byUser[u].MaxBy(r => r.Timestamp);
            Assert.Equal(latest.Item, a.RankingPositive(u));
            Assert.DoesNotContain(latest.Item, a.SeenItems(u));
            Assert.Equal(byUser[u].Length - 1, a.SeenItems(u).Count);
            var nTest = a.RatingTest.Count(r => r.User == u);
            Assert.Equal((int)Math.Round(0.2 * (byUser[u].Length - 1)), nTest);
        }

        Assert.DoesNotContain(a.Train.Ratings.ToArray(), r => r.Item == a.RankingPositive(r.User));
    }

    [Fact]
    public void Split_keeps_users_with_fewer_than_three_ratings_in_training()
    {
        var ds = RatingDataset.FromRatings("t", [new Rating(0, 0, 1, 0), new Rating(0, 1, 2, 1)], 1, 2);
        var s = EvaluationSplit.Create(ds, 0.5, 1);
        Assert.Equal(-1, s.RankingPositive(0));
        Assert.Equal(2, s.Train.Count);
        Assert.Empty(s.RatingTest);
    }
}
