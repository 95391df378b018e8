using System.Data.Common;
using Npgsql;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// The store on PostgreSQL (Npgsql), for deployments with more than one coordinator instance. Appends that race between
/// instances are resolved by the unique constraints (version, round id, ledger sequence) and retried. Back it up with
/// <c>pg_dump</c>.
/// </summary>
/// <remarks>Thread-safe: Npgsql's data source pools connections.</remarks>
public sealed class PostgresCoordinatorStore : SqlCoordinatorStore
{
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Connects with an Npgsql connection string (Host, Port, Username, Password, Database, Search Path…).</summary>
    public PostgresCoordinatorStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc />
    protected override string BlobType => "BYTEA";

    /// <inheritdoc />
    protected override string SerialPrimaryKey => "BIGSERIAL PRIMARY KEY";

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
