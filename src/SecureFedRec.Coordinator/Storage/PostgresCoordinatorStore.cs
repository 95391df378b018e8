using System.Data.Common;
using Npgsql;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// The store on PostgreSQL (Npgsql), for deployments with more than one coordinator instance. Appends that race between
/// instances are serialized by a transaction-scoped advisory lock per table (and, as a second line of defence, resolved by
/// the unique constraints on version, round id and ledger sequence, and retried). Back it up with
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
    protected override async Task LockAppendsAsync(DbConnection connection, DbTransaction transaction, string table, CancellationToken cancellationToken)
    {
        // One fixed 64-bit key per table ("SFR" ‖ table tag); released automatically at commit or rollback.
        long key = table switch
        {
            "models" => 0x5346_5200_0000_0001,
            "ledger" => 0x5346_5200_0000_0002,
            _ => throw new ArgumentOutOfRangeException(nameof(table), table, "No append lock for this table."),
        };
        await using DbCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_advisory_xact_lock(@k)";
        DbParameter parameter = command.CreateParameter();
        parameter.ParameterName = "@k";
        parameter.Value = key;
        command.Parameters.Add(parameter);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
