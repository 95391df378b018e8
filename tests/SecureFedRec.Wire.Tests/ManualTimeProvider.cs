namespace SecureFedRec.Wire.Tests;

/// <summary>A clock the test moves by hand (timers are not driven; only GetUtcNow).</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
