using System.CommandLine;
using System.Globalization;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec privacy epsilon …</c> recomputes a round's (and a ledger's) ε from recorded parameters, so that an
/// auditor need not trust the coordinator; <c>securefedrec privacy plan …</c> chooses σ and γ for a target (ε, δ) and
/// can measure the accuracy cost (<c>--simulate</c>).
/// </summary>
internal static class PrivacyCommand
{
    public static Command Create()
    {
        var privacy = new Command("privacy", "Distributed differential privacy: recompute ε (audit) and plan σ, γ for a target (ε, δ).");
        privacy.Subcommands.Add(Epsilon());
        privacy.Subcommands.Add(Plan());
        return privacy;
    }

    private static Command Epsilon()
    {
        var ledger = new Option<FileInfo?>("--ledger") { Description = "Audit a ledger file: verify its hash chain and recompute every round's ε and the total." };
        var dimension = new Option<int>("--dimension") { Description = "Model dimension d." };
        var bits = new Option<int>("--bits") { Description = "Modulus bits b." };
        var clip = new Option<double>("--clip") { Description = "L2 clip c." };
        var gamma = new Option<double>("--gamma") { Description = "Scale γ (the client multiplies by 1/γ)." };
        var beta = new Option<double>("--beta") { Description = "Conditional rounding β.", DefaultValueFactory = _ => Math.Exp(-0.5) };
        var sigma2 = new Option<string>("--sigma2") { Description = "Per-client σ² in the integer domain as NUM/DEN (as recorded in the ledger)." };
        var clients = new Option<int>("--clients") { Description = "Planned clients n." };
        var threshold = new Option<int>("--threshold") { Description = "Threshold t." };
        var contributing = new Option<int?>("--contributing") { Description = "Clients in the sum (default: t, the worst case)." };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to compose.", DefaultValueFactory = _ => 1 };
        var delta = new Option<double>("--delta") { Description = "δ.", DefaultValueFactory = _ => 1e-5 };
        var q = new Option<double>("--sampling-rate") { Description = "Poisson client sampling rate q.", DefaultValueFactory = _ => 1.0 };
        var command = new Command("epsilon", "Recompute ε of the distributed discrete Gaussian from its parameters (or audit a ledger file).");
        foreach (var o in new Option[] { ledger, dimension, bits, clip, gamma, beta, sigma2, clients, threshold, contributing, rounds, delta, q })
        {
            command.Options.Add(o);
        }

        command.SetAction(r =>
        {
            var path = r.GetValue(ledger);
            if (path is not null)
            {
                return AuditLedger(path, r.GetValue(delta));
            }

            if (!TryRational(r.GetValue(sigma2), out var num, out var den))
            {
                Console.Error.WriteLine("--sigma2 must be NUM/DEN with positive integers (e.g. 419430400/1048576).");
                return 2;
            }

            try
            {
                var p = new MechanismParameters
                {
                    Dimension = r.GetValue(dimension),
                    Bits = r.GetValue(bits),
                    Clip = r.GetValue(clip),
                    Gamma = r.GetValue(gamma),
                    Beta = r.GetValue(beta),
                    SigmaSquaredNumerator = num,
                    SigmaSquaredDenominator = den,
                    PlannedClients = r.GetValue(clients),
                    MinClients = r.GetValue(threshold),
                    Delta = r.GetValue(delta),
                    SamplingRate = r.GetValue(q),
                };
                p.Validate();
                var m = r.GetValue(contributing) ?? p.MinClients;
                var curve = DistributedDiscreteGaussianAccountant.RoundCurve(p, m);
                var one = curve.ToEpsilon(p.Delta);
                var all = curve.Compose(r.GetValue(rounds)).ToEpsilon(p.Delta);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"padded dimension D       {p.PaddedDimension}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sigma (integer domain)   {p.Sigma:G8}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rounded L2 bound         {DistributedDiscreteGaussianAccountant.RoundedL2Bound(p.Clip / p.Gamma, p.Beta, p.PaddedDimension):G8}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tau ({m} clients)         {DistributedDiscreteGaussianAccountant.Tau(p.Sigma, m):G4}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epsilon per round        {one.Epsilon:G10} (order {one.Order}, {m} clients, delta {p.Delta:G3})"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epsilon over {r.GetValue(rounds)} rounds  {all.Epsilon:G10} (order {all.Order})"));
                return 0;
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }
        });
        return command;
    }

    private static int AuditLedger(FileInfo path, double delta)
    {
        if (!path.Exists)
        {
            Console.Error.WriteLine($"No ledger at {path.FullName}.");
            return 2;
        }

        try
        {
            using var book = FilePrivacyLedger.Open(path.FullName, new PrivacyBudget(double.MaxValue, delta));
            Console.WriteLine("seq  round                    clients  eps(round)    eps(total)");
            foreach (var e in book.Entries)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{e.Sequence,-4} {e.RoundId,-24} {e.ContributingClients,7}  {e.RoundEpsilon,-12:G8}  {e.TotalEpsilon:G8}"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified: hash chain intact, every epsilon recomputed; total {book.TotalEpsilon:G10} at delta {delta:G3}"));
            return 0;
        }
        catch (LedgerCorruptException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return ExitCodes.VerificationFailed;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"Cannot open {path.FullName}: {ex.Message}");
            return ExitCodes.StoreUnavailable;
        }
    }

    private static Command Plan()
    {
        var eps = new Option<double>("--epsilon") { Description = "Target total ε.", DefaultValueFactory = _ => 1.0 };
        var delta = new Option<double>("--delta") { Description = "Target δ.", DefaultValueFactory = _ => 1e-5 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds the budget covers.", DefaultValueFactory = _ => 1 };
        var clients = new Option<int>("--clients") { Description = "Planned clients n.", DefaultValueFactory = _ => 100 };
        var threshold = new Option<int?>("--threshold") { Description = "Threshold t (default ⌈2n/3⌉)." };
        var dimension = new Option<int>("--dimension") { Description = "Model dimension d.", DefaultValueFactory = _ => 1000 };
        var bits = new Option<int>("--bits") { Description = "Modulus bits b.", DefaultValueFactory = _ => 20 };
        var clip = new Option<double>("--clip") { Description = "L2 clip c.", DefaultValueFactory = _ => 1.0 };
        var beta = new Option<double>("--beta") { Description = "Conditional rounding β.", DefaultValueFactory = _ => Math.Exp(-0.5) };
        var k = new Option<double>("--k") { Description = "Standard deviations for the bit budget.", DefaultValueFactory = _ => 4.0 };
        var q = new Option<double>("--sampling-rate") { Description = "Poisson client sampling rate q.", DefaultValueFactory = _ => 1.0 };
        var simulate = new Option<bool>("--simulate") { Description = "Measure the accuracy cost: encode, sum mod 2^b, decode (deterministic seed)." };
        var survivors = new Option<int?>("--survivors") { Description = "Clients in the simulated sum (default t: the noisiest case the plan allows)." };
        var trials = new Option<int>("--trials") { Description = "Simulated rounds.", DefaultValueFactory = _ => 5 };
        var seed = new Option<ulong>("--seed") { Description = "Simulation seed.", DefaultValueFactory = _ => 1UL };
        var command = new Command("plan", "Choose σ and γ for a target (ε, δ) over R rounds (KLS 2021 §4.4); refuse infeasible bit budgets.");
        foreach (var o in new Option[] { eps, delta, rounds, clients, threshold, dimension, bits, clip, beta, k, q, simulate, survivors, trials, seed })
        {
            command.Options.Add(o);
        }

        command.SetAction(r =>
        {
            var n = r.GetValue(clients);
            var request = new PlanRequest
            {
                TargetEpsilon = r.GetValue(eps),
                Delta = r.GetValue(delta),
                Rounds = r.GetValue(rounds),
                PlannedClients = n,
                MinClients = r.GetValue(threshold) ?? (int)Math.Ceiling(2.0 * n / 3),
                Dimension = r.GetValue(dimension),
                Bits = r.GetValue(bits),
                Clip = r.GetValue(clip),
                Beta = r.GetValue(beta),
                K = r.GetValue(k),
                SamplingRate = r.GetValue(q),
            };
            if (!DistributedDpPlanner.TryPlan(request, out var plan, out var refusal))
            {
                Console.Error.WriteLine($"infeasible ({refusal!.Reason}): {refusal.Message}");
                return 1;
            }

            var p = plan!.Parameters;
            var ci = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(ci, $"n = {p.PlannedClients}, t = {p.MinClients}, d = {p.Dimension} (D = {p.PaddedDimension}), b = {p.Bits}, c = {p.Clip:G6}, beta = {p.Beta:G6}, q = {p.SamplingRate:G6}"));
            Console.WriteLine(string.Create(ci, $"gamma                    {p.Gamma:R}"));
            Console.WriteLine(string.Create(ci, $"sigma2 (integer domain)  {p.SigmaSquaredNumerator}/{p.SigmaSquaredDenominator}  (sigma = {p.Sigma:G8})"));
            Console.WriteLine(string.Create(ci, $"noise multiplier at t    {p.NoiseMultiplierAtThreshold:G6}"));
            Console.WriteLine(string.Create(ci, $"epsilon per round at t   {plan.EpsilonPerRound:G8}"));
            Console.WriteLine(string.Create(ci, $"epsilon over {request.Rounds} rounds    {plan.TotalEpsilon:G8} (order {plan.Order}, delta {p.Delta:G3})"));
            Console.WriteLine(string.Create(ci, $"k fitted into 2^b        {plan.EffectiveK:G4}"));
            Console.WriteLine(string.Create(ci, $"noise std per coordinate {plan.NoiseStdAtThreshold:G6} (sum of t clients, model units)"));
            if (r.GetValue(simulate))
            {
                var m = r.GetValue(survivors) ?? p.MinClients;
                if (m < 1 || m > p.PlannedClients || r.GetValue(trials) < 1)
                {
                    Console.Error.WriteLine("--survivors must be in [1, n] and --trials ≥ 1.");
                    return 2;
                }

                var report = AccuracySimulation.Run(p, m, r.GetValue(trials), r.GetValue(seed));
                Console.WriteLine(string.Create(ci, $"simulated {report.Trials} rounds with {report.Survivors} clients (half-aligned updates of norm c):"));
                Console.WriteLine(string.Create(ci, $"  mean |true sum|        {report.MeanTrueNorm:G6}"));
                Console.WriteLine(string.Create(ci, $"  relative L2 error      {report.RelativeError:G4}"));
                Console.WriteLine(string.Create(ci, $"  RMS error / coordinate {report.RmsErrorPerCoordinate:G4} (predicted {report.PredictedRmsPerCoordinate:G4}, rounding variance taken as 1/4)"));
                Console.WriteLine(string.Create(ci, $"  withheld sums          {report.DecodeFailures}"));
            }

            return 0;
        });
        return command;
    }

    private static bool TryRational(string? text, out ulong num, out ulong den)
    {
        num = 0;
        den = 1;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var parts = text.Split('/');
        return parts.Length switch
        {
            1 => ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out num) && num > 0,
            2 => ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out num) && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out den) && num > 0 && den > 0,
            _ => false,
        };
    }
}
