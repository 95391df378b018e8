using System.Reflection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Wire.Tests;

/// <summary>grpc.health.v1 reports what a query against the store says, not a constant.</summary>
public sealed class StoreHealthCheckTests
{
    public static TheoryData<string, HealthStatus> Stores => new()
    {
        { "answers with a model", HealthStatus.Healthy },
        { "holds no model", HealthStatus.Unhealthy },
        { "throws", HealthStatus.Unhealthy },
        { "hangs", HealthStatus.Unhealthy },
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_status_follows_the_store(string behaviour, HealthStatus expected)
    {
        ICoordinatorStore store = DispatchProxy.Create<ICoordinatorStore, FakeStore>();
        ((FakeStore)(object)store).Behaviour = behaviour;
        HealthCheckResult result = await new StoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(expected, result.Status);
        Assert.Equal(1, ((FakeStore)(object)store).Queries);
    }

    [Fact]
    public async Task A_real_sqlite_store_is_queried()
    {
        string dir = Directory.CreateTempSubdirectory("sfr-health-").FullName;
        try
        {
            await using var store = new SqliteCoordinatorStore(Path.Combine(dir, "c.db"));
            await store.InitializeAsync();
            Assert.Equal(HealthStatus.Unhealthy, (await new StoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext())).Status);
            await store.AppendModelAsync(0, [0, 0, 0, 0], "0", DateTimeOffset.UtcNow);
            Assert.Equal(HealthStatus.Healthy, (await new StoreHealthCheck(store).CheckHealthAsync(new HealthCheckContext())).Status);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A store whose only working method is GetModelAsync, behaving as told.</summary>
#pragma warning disable CA1852 // DispatchProxy needs an unsealed proxy type.
    public class FakeStore : DispatchProxy
#pragma warning restore CA1852
    {
        public string Behaviour { get; set; } = string.Empty;

        public int Queries { get; private set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(ICoordinatorStore.GetModelAsync))
            {
                throw new NotSupportedException(targetMethod?.Name);
            }

            Queries++;
            var token = (CancellationToken)args![1]!;
            return Behaviour switch
            {
                "answers with a model" => Task.FromResult<ModelVersionRecord?>(new ModelVersionRecord(3, 2, [], "1", DateTimeOffset.UtcNow)),
                "holds no model" => Task.FromResult<ModelVersionRecord?>(null),
                "throws" => Task.FromException<ModelVersionRecord?>(new IOException("disk gone")),
                _ => Hang(token),
            };
        }

        private static async Task<ModelVersionRecord?> Hang(CancellationToken token)
        {
            await Task.Delay(Timeout.Infinite, token);
            return null;
        }
    }
}
