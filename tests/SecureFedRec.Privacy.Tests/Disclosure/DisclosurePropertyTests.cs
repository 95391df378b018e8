using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;
using static SecureFedRec.Privacy.Tests.Disclosure.DisclosureTestSupport;

namespace SecureFedRec.Privacy.Tests.Disclosure;

/// <summary>
/// Any interleaving of reserve, disclose, release and crash-and-reopen keeps the ledger's counted rounds equal to a
/// model in which only a release of this session's undisclosed reservation refunds: never under-charged.
/// </summary>
public sealed class DisclosurePropertyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-disclosure-prop-" + Guid.NewGuid().ToString("N"));

    public DisclosurePropertyTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private enum Op
    {
        Reserve,
        Disclose,
        Release,
        Crash,
    }

    private enum Model
    {
        Pending,
        Recovered,
        Disclosed,
        Released,
        Aborted,
    }

    [Fact]
    public void Random_interleavings_with_crashes_never_under_charge()
    {
        var step = Gen.Elements(Op.Reserve, Op.Disclose, Op.Release, Op.Crash).SelectMany(_ => Gen.Choose(0, 4), (op, round) => (Op: op, Round: round));
        var arb = Gen.ListOf(step).Select(l => l.Take(16).ToArray()).ToArbitrary();
        var curve = DistributedDiscreteGaussianAccountant.RoundCurve(Plan(), 7);
        var run = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30), Prop.ForAll(arb, steps =>
        {
            var path = Path.Combine(_dir, $"p{run++}.jsonl");
            var budget = new PrivacyBudget(1000, 1e-5);
            var model = new Dictionary<string, Model>();
            var ledger = FilePrivacyLedger.Open(path, budget);
            try
            {
                foreach (var (op, round) in steps)
                {
                    var id = $"r{round}";
                    model.TryGetValue(id, out var state);
                    var known = model.ContainsKey(id);
                    switch (op)
                    {
                        case Op.Reserve:
                            var reserved = ledger.Reserve(new RoundCharge(id, Plan(q: 0.01), 7)).Outcome;
                            Assert.Equal(known ? LedgerOutcome.RoundAlreadyRecorded : LedgerOutcome.Reserved, reserved);
                            if (!known)
                            {
                                model[id] = Model.Pending;
                            }

                            break;
                        case Op.Disclose:
                            var disclosed = ledger.MarkDisclosed(id).Outcome;
                            var canDisclose = known && state is Model.Pending or Model.Recovered;
                            Assert.Equal(!known ? LedgerOutcome.NotReserved : canDisclose ? LedgerOutcome.Disclosed : LedgerOutcome.AlreadyResolved, disclosed);
                            if (canDisclose)
                            {
                                model[id] = Model.Disclosed;
                            }

                            break;
                        case Op.Release:
                            var released = ledger.Release(id, keysAdvertised: true, "aborted").Outcome;
                            var expected = !known ? LedgerOutcome.NotReserved : state switch
                            {
                                Model.Pending => LedgerOutcome.Released,
                                Model.Recovered => LedgerOutcome.RecoveredReservation,
                                Model.Disclosed => LedgerOutcome.AbortRecorded,
                                _ => LedgerOutcome.AlreadyResolved,
                            };
                            Assert.Equal(expected, released);
                            if (expected == LedgerOutcome.Released)
                            {
                                model[id] = Model.Released;
                            }
                            else if (expected == LedgerOutcome.AbortRecorded)
                            {
                                model[id] = Model.Aborted;
                            }

                            break;
                        case Op.Crash:
                            ledger.Dispose();
                            ledger = FilePrivacyLedger.Open(path, budget);
                            foreach (var key in model.Where(kv => kv.Value == Model.Pending).Select(kv => kv.Key).ToList())
                            {
                                model[key] = Model.Recovered;
                            }

                            Assert.Equal(model.Where(kv => kv.Value == Model.Recovered).Select(kv => kv.Key).Order(), ledger.RecoveredReservations.Select(r => r.RoundId).Order());
                            break;
                    }

                    var counted = model.Count(kv => kv.Value != Model.Released);
                    var truth = counted == 0 ? 0 : curve.Compose(counted).ToEpsilon(1e-5).Epsilon;
                    Assert.Equal(counted, ledger.Entries.Count);
                    Assert.Equal(truth, ledger.TotalEpsilon, 9);
                }
            }
            finally
            {
                ledger.Dispose();
            }
        }));
    }
}
