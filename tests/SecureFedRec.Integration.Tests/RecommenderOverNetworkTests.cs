using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SecureFedRec.Coordinator;
using SecureFedRec.Recommender.Data;
using Xunit.Abstractions;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// The recommender trained over the network: a coordinator process with a random MF item model and three client
/// processes, each holding a disjoint share of a synthetic dataset's users, train matrix factorization over TLS.
/// </summary>
public sealed partial class RecommenderOverNetworkTests(ITestOutputHelper log)
{
    private const int Clients = 3;
    private const int Items = 60;
    private const int Factors = 4;
    private const int Rounds = 3;

    [GeneratedRegex(@"held-out RMSE initial (?<initial>[0-9.]+) final (?<final>[0-9.]+)")]
    private static partial Regex RmseLine();

    private static string WriteCoordinatorConfig(Federation federation)
    {
        string path = Path.Combine(federation.Directory, "coordinator.json");
        Dictionary<string, object> coordinator = federation.AdmissionSettings();
        coordinator["Port"] = 0;
        coordinator["CertificatePath"] = "coordinator.crt";
        coordinator["CertificateKeyPath"] = "coordinator.key";
        coordinator["Store"] = "coordinator.db";
        coordinator["Rounds"] = new
        {
            CohortSize = Clients,
            MinClients = Clients,
            Dimension = (Items * (Factors + 1)) + 1,
            InitialModel = $"mf:{Items}:{Factors}:3.5",
            Clip = 5.0,
            TargetEpsilon = 1000.0,
            PlannedRounds = Rounds,
            PhaseSeconds = 30,
            RecruitSeconds = 1,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(new { Coordinator = coordinator }));
        return path;
    }

    private static string WriteClientConfig(Federation federation, int index, Uri coordinator, IEnumerable<Rating> ratings)
    {
        var csv = new StringBuilder(DatasetLoader.MovieLensCsvHeader).Append('\n');
        foreach (Rating r in ratings)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{r.User},{r.Item},{r.Value.ToString(CultureInfo.InvariantCulture)},{r.Timestamp}\n");
        }

        File.WriteAllText(Path.Combine(federation.Directory, $"ratings-{index}.csv"), csv.ToString());
        string path = Path.Combine(federation.Directory, $"client-{index}.json");
        Dictionary<string, object> client = federation.IdentitySettings(index);
        client["Coordinator"] = coordinator.ToString();
        client["TrustedCertificatePath"] = "coordinator.crt";
        client["LedgerPath"] = $"client-{index}.rec-ledger";
        client["DisplayName"] = $"institution {index}";
        client["Policy"] = new { MaxTotalEpsilon = 10_000, MinNoiseMultiplier = 0.0, MinCohortSize = 2, MinThreshold = 2, MinDistinctOrganisations = 2 };
        client["Recommender"] = new { Ratings = $"ratings-{index}.csv", Items, Factors, LocalEpochs = 10, LearningRate = 0.01, Regularization = 0.1, HoldOutFraction = 0.2, Seed = 10 + index };
        File.WriteAllText(path, JsonSerializer.Serialize(new { Client = client }));
        return path;
    }

    [Theory]
    [InlineData("zeros", 16, true)]
    [InlineData("mf:60:4", 301, true)]
    [InlineData("mf:60:4:3.5", 301, true)]
    [InlineData("mf:60:4", 300, false)]
    [InlineData("mf:0:4", 1, false)]
    [InlineData("mf:60:0", 61, false)]
    [InlineData("mf:60", 301, false)]
    [InlineData("mf:60:4:x", 301, false)]
    [InlineData("mf:-1:4", 301, false)]
    [InlineData("random", 16, false)]
    public void The_initial_model_setting_is_validated(string setting, int dimension, bool valid)
    {
        var rounds = new RoundOptions { InitialModel = setting, Dimension = dimension };
        if (valid)
        {
            rounds.Validate();
        }
        else
        {
            Assert.Throws<ArgumentException>(rounds.Validate);
        }
    }

    /// <summary>The ranking forms: Dimension is the update's length (iALS: (I + ⌈k/2⌉)·2k statistics; knn: I + M(M + 1)/2), each broken rule named by its key.</summary>
    [Theory]
    [InlineData("ials:60:8", 1024, 0, "FedAvg", null)]
    [InlineData("bpr:60:8", 540, 0, "FedAvg", null)]
    [InlineData("bpr:60:8", 540, 0, "FedAdam", null)]
    [InlineData("neural:60:8:16", 0, 0, "FedAvg", null)]
    [InlineData("knn:60:20", 270, 2, "FedAvg", null)]
    [InlineData("ials:60:8", 480, 0, "FedAvg", "Coordinator:Rounds:Dimension: 480 does not fit InitialModel ials:60:8: its updates have 1024 values, so Dimension = 1024")]
    [InlineData("bpr:60:8", 541, 0, "FedAvg", "Coordinator:Rounds:Dimension: 541 does not fit InitialModel bpr:60:8: its updates have 540 values")]
    [InlineData("ials:60:8", 1024, 0, "FedAdam", "Coordinator:Rounds:ModelRule: ials sums statistics and has its own rule")]
    [InlineData("knn:60:20", 270, 0, "FedAvg", "Coordinator:Rounds:MaxRounds: 0: knn trains in exactly two rounds")]
    [InlineData("knn:60:61", 270, 2, "FedAvg", "Coordinator:Rounds:InitialModel: 'knn:60:61': M (the Gram's candidate items) must be in 2..60 (found 61).")]
    [InlineData("ials:1:8", 16, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'ials:1:8': ITEMS must be in 2..10000000 (found 1).")]
    [InlineData("ials:60:0", 16, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'ials:60:0': K must be in 1..1024 (found 0).")]
    [InlineData("ials:60", 16, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'ials:60' must be one of bpr:ITEMS:K")]
    [InlineData("bpr:60:8:3", 16, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'bpr:60:8:3' must be one of")]
    [InlineData("ials:60:8:2.5", 1024, 0, "FedAvg", null)]
    [InlineData("ials:60:8:0", 1024, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'ials:60:8:0': LAMBDA must be a number in (0, 1000000].")]
    [InlineData("neural:60:8:0", 16, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'neural:60:8:0': HIDDEN must be an integer in 1..4096.")]
    [InlineData("als:60:8", 16, 0, "FedAvg", "Coordinator:Rounds:InitialModel: 'als:60:8' must be zeros, mf:ITEMS:FACTORS[:MEAN] or one of bpr:ITEMS:K")]
    [InlineData("ials:60:8", 1024, 0, "Adam", "Coordinator:Rounds:ModelRule: 'Adam' is not allowed")]
    public void A_ranking_initial_model_is_validated_with_the_key_named(string setting, int dimension, int maxRounds, string rule, string? problem)
    {
        if (setting.StartsWith("neural", StringComparison.Ordinal) && problem is null)
        {
            dimension = Recommender.Federated.RankingModelSpec.Parse(setting).UpdateDimension;
        }

        var rounds = new RoundOptions { InitialModel = setting, Dimension = dimension, MaxRounds = maxRounds, ModelRule = rule };
        if (problem is null)
        {
            rounds.Validate();
            double[] model = rounds.CreateInitialModel();
            Assert.Equal(Recommender.Federated.RankingModelSpec.Parse(setting), Recommender.Federated.RankingModelSpec.FromModel(model));
            Assert.Null(rounds.ModelProblem(model));
            Assert.NotNull(new RoundOptions { InitialModel = "mf:60:4", Dimension = 301 }.ModelProblem(model));
            Assert.NotNull(rounds.ModelProblem(new double[301]));
            Assert.NotNull(rounds.CreateModelRule());
        }
        else
        {
            var ex = Assert.Throws<ArgumentException>(rounds.Validate);
            Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_mf_initial_model_has_random_item_factors_zero_biases_and_the_prior_mean()
    {
        double[] model = new RoundOptions { InitialModel = "mf:60:4:3.5", Dimension = 301 }.CreateInitialModel();
        Assert.Equal(301, model.Length);
        Assert.All(model[..240], v => Assert.NotEqual(0.0, v));
        Assert.All(model[240..300], v => Assert.Equal(0.0, v));
        Assert.Equal(3.5, model[300]);
        Assert.NotEqual(model, new RoundOptions { InitialModel = "mf:60:4:3.5", Dimension = 301 }.CreateInitialModel());
        Assert.All(new RoundOptions { Dimension = 5 }.CreateInitialModel(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public async Task A_coordinator_and_three_client_processes_train_matrix_factorization_over_tls()
    {
        RatingDataset data = SyntheticDataset.Generate(new SyntheticOptions { Users = 90, Items = Items, Rank = 3, MinRatingsPerUser = 15, MedianRatingsPerUser = 25 }, seed: 7);
        await using var federation = new Federation(clients: Clients);
        using CliProcess coordinator = CliProcess.Start("coordinator", "--config", WriteCoordinatorConfig(federation));
        Uri address = await coordinator.ListeningAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("https", address.Scheme);

        Rating[] all = data.Ratings.ToArray();
        var clients = Enumerable.Range(0, Clients)
            .Select(i => CliProcess.Start("client", "--rounds", Rounds.ToString(CultureInfo.InvariantCulture), "--config",
                WriteClientConfig(federation, i, address, all.Where(r => r.User % Clients == i))))
            .ToList();
        try
        {
            int[] codes = await Task.WhenAll(clients.Select(c => c.WaitAsync(TimeSpan.FromSeconds(150))));
            double initialSum = 0, finalSum = 0;
            for (int i = 0; i < Clients; i++)
            {
                string output = clients[i].Output;
                Assert.True(codes[i] == 0, $"client {i} exited {codes[i]}:\n{output}\ncoordinator:\n{coordinator.Output}");
                Assert.Contains($"model version {Rounds + 1} (round {Rounds}", output, StringComparison.Ordinal);
                Assert.Contains("top-5 for user", output, StringComparison.Ordinal);
                Match m = RmseLine().Match(output);
                Assert.True(m.Success, output);
                double initial = double.Parse(m.Groups["initial"].Value, CultureInfo.InvariantCulture);
                double final = double.Parse(m.Groups["final"].Value, CultureInfo.InvariantCulture);
                // Each client's own held-out RMSE improves; how much varies with the round's DP noise, which the networked
                // clients draw from the OS CSPRNG (the smallest client's gain measured 0.040–0.111 over four runs), so the
                // size of the gain is checked across clients below, not per client.
                Assert.True(final < initial, $"client {i}: held-out RMSE {initial} -> {final}\n{output}");
                log.WriteLine($"client {i}: held-out RMSE {initial} -> {final}");
                initialSum += initial;
                finalSum += final;
            }

            // Across clients, the federated model is clearly better than the random initial one: ≥ 5 % lower mean RMSE. Over
            // 17 runs on 2026-12-03 the gain was 7.95–16.6 % (the initial model is drawn afresh by each coordinator, and the
            // low end came under full-suite load), so the earlier 8 % bound sat inside that spread and failed twice.
            Assert.True(finalSum < 0.95 * initialSum, $"mean held-out RMSE {initialSum / Clients} -> {finalSum / Clients}");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
