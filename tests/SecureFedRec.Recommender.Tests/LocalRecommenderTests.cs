using SecureFedRec.Crypto;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Tests;

public sealed class LocalRecommenderTests
{
    private const int Items = 40;
    private const int Factors = 3;
    private static readonly MfHyperparameters Hp = new() { Factors = Factors, LearningRate = 0.02, Regularization = 0.05 };
    private static readonly Rating[] All = SyntheticDataset.Generate(new SyntheticOptions { Users = 30, Items = Items, Rank = 2, MinRatingsPerUser = 10, MedianRatingsPerUser = 15 }, 5).Ratings.ToArray();

    private static double[] Initial(byte seed = 1, double mean = 3.5) =>
        LocalRecommender.InitialModel(Items, Factors, new DeterministicRandomSource(Enumerable.Repeat(seed, 32).ToArray()), mean);

    private static LocalRecommender Make(IEnumerable<Rating> ratings, ulong seed = 1, int epochs = 2) => new(ratings, Items, Hp, epochs, seed);

    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(40, 3, 161)]
    [InlineData(1000, 16, 17001)]
    public void Model_dimension_is_items_times_factors_plus_one_plus_one(int items, int factors, int expected) =>
        Assert.Equal(expected, LocalRecommender.ModelDimension(items, factors));

    [Fact]
    public void Initial_model_has_random_item_factors_zero_biases_and_the_given_mean()
    {
        double[] model = Initial();
        Assert.Equal(LocalRecommender.ModelDimension(Items, Factors), model.Length);
        Assert.All(model[..(Items * Factors)], v => Assert.NotEqual(0.0, v));
        Assert.All(model[(Items * Factors)..^1], v => Assert.Equal(0.0, v));
        Assert.Equal(3.5, model[^1]);
        Assert.NotEqual(model, Initial(seed: 2));
    }

    [Fact]
    public void Update_has_the_model_layout_and_moves_only_rated_items()
    {
        Rating[] mine = All.Where(r => r.User < 3).ToArray();
        var rec = Make(mine);
        double[] update = rec.ComputeUpdate(Initial());
        Assert.Equal(LocalRecommender.ModelDimension(Items, Factors), update.Length);
        var rated = mine.Select(r => r.Item).ToHashSet();
        for (int i = 0; i < Items; i++)
        {
            double[] block = [.. update[(i * Factors)..((i + 1) * Factors)], update[(Items * Factors) + i]];
            if (rated.Contains(i))
            {
                Assert.Contains(block, v => v != 0);
            }
            else
            {
                Assert.All(block, v => Assert.Equal(0.0, v));
            }
        }

        Assert.NotEqual(0.0, update[^1]);
    }

    [Fact]
    public void User_parameters_never_enter_the_update()
    {
        // The update's size does not depend on the number of users, and the same item ratings held by a different
        // number of users (so with different user factors) yield an update of the same item-only layout.
        Rating[] few = All.Where(r => r.User < 2).ToArray();
        Rating[] many = All.Where(r => r.User < 20).ToArray();
        Assert.Equal(Make(few).ComputeUpdate(Initial()).Length, Make(many).ComputeUpdate(Initial()).Length);

        // Renaming users (their ids and so the local state keyed by them) leaves the update unchanged: only item-side
        // quantities travel.
        double[] a = Make(few).ComputeUpdate(Initial());
        double[] b = Make(few.Select(r => r with { User = r.User + 1000 })).ComputeUpdate(Initial());
        Assert.Equal(a, b);
    }

    [Fact]
    public void Recommend_excludes_seen_items_and_orders_by_score()
    {
        Rating[] mine = All.Where(r => r.User < 5).ToArray();
        var rec = Make(mine);
        double[] model = Initial();
        rec.ComputeUpdate(model);
        int user = mine[0].User;
        var seen = mine.Where(r => r.User == user).Select(r => r.Item).ToHashSet();
        var top = rec.Recommend(user, 10, model);
        Assert.Equal(10, top.Count);
        Assert.All(top, t => Assert.DoesNotContain(t.Item, seen));
        Assert.Equal(top.Select(t => t.Score).OrderDescending(), top.Select(t => t.Score));
        Assert.Equal(Items - seen.Count, rec.Recommend(user, Items, model).Count);
    }

    [Fact]
    public void Deterministic_under_a_seed()
    {
        Rating[] mine = All.Where(r => r.User < 5).ToArray();
        LocalRecommender x = Make(mine, seed: 9), y = Make(mine, seed: 9), z = Make(mine, seed: 10);
        double[] model = Initial();
        double[] ux = x.ComputeUpdate(model);
        Assert.Equal(ux, y.ComputeUpdate(model));
        Assert.NotEqual(ux, z.ComputeUpdate(model));
        Assert.Equal(x.ComputeUpdate(model), y.ComputeUpdate(model));
    }

    [Fact]
    public void Applying_local_updates_lowers_held_out_rmse()
    {
        (IReadOnlyList<Rating> train, IReadOnlyList<Rating> held) = LocalRecommender.HoldOut(All, 0.2);
        Assert.Equal(All.Length, train.Count + held.Count);
        var rec = Make(train, epochs: 5);
        double[] model = Initial();
        double before = rec.Rmse(held, model);
        for (int round = 0; round < 5; round++)
        {
            double[] delta = rec.ComputeUpdate(model);
            for (int j = 0; j < model.Length; j++)
            {
                model[j] += delta[j];
            }
        }

        double after = rec.Rmse(held, model);
        Assert.True(after < before - 0.05, $"held-out RMSE {before} -> {after}");
    }

    [Fact]
    public void Hold_out_takes_the_latest_ratings_of_users_with_at_least_three()
    {
        Rating[] ratings = [new(1, 0, 3, 10), new(1, 1, 4, 30), new(1, 2, 5, 20), new(2, 0, 1, 1), new(2, 1, 2, 2)];
        (IReadOnlyList<Rating> train, IReadOnlyList<Rating> held) = LocalRecommender.HoldOut(ratings, 0.2);
        Assert.Equal([new Rating(1, 1, 4, 30)], held);
        Assert.Equal(4, train.Count);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, -1)]
    [InlineData(0, Items)]
    public void Ratings_outside_the_space_are_refused(int user, int item) =>
        Assert.Throws<ArgumentException>(() => Make([new Rating(user, item, 3, 0)]));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Items * (Factors + 1))]
    public void A_model_of_the_wrong_length_is_refused(int length)
    {
        var rec = Make(All.Where(r => r.User < 2));
        Assert.Throws<ArgumentException>(() => rec.ComputeUpdate(new double[length]));
        Assert.Throws<ArgumentException>(() => rec.Recommend(All[0].User, 5, new double[length]));
    }

    [Fact]
    public void An_unknown_user_is_refused()
    {
        var rec = Make(All.Where(r => r.User < 2));
        Assert.Throws<ArgumentException>(() => rec.Recommend(29, 5, Initial()));
        Assert.Throws<ArgumentException>(() => rec.Rmse([new Rating(29, 0, 3, 0)], Initial()));
    }

    [Theory]
    [InlineData("userId,movieId,rating,timestamp\n1,7,4.0,1\n", true)]
    [InlineData("userId,movieId,rating,timestamp\n1,40,4.0,1\n", false)]
    [InlineData("userId,movieId,rating,timestamp\n1,x7,4.0,1\n", false)]
    [InlineData("userId,movieId,rating,timestamp\nu1,7,4.0,1\n", false)]
    public void Load_ratings_needs_integer_ids_inside_the_item_space(string csv, bool valid)
    {
        string path = Path.Combine(Path.GetTempPath(), $"localrec-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, csv);
        try
        {
            if (valid)
            {
                Assert.Equal([new Rating(1, 7, 4, 1)], LocalRecommender.LoadRatings(path, Items));
            }
            else
            {
                Assert.Throws<DatasetFormatException>(() => LocalRecommender.LoadRatings(path, Items));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
