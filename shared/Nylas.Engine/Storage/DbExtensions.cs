using System.Data.Common;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>Parameters on commands created by <see cref="MySqlDataSource.CreateCommand"/> (typed as <see cref="DbCommand"/>).</summary>
public static class DbExtensions
{
    public static void AddWithValue(this DbParameterCollection parameters, string name, object? value)
        => parameters.Add(new MySqlParameter(name, value ?? DBNull.Value));

    /// <summary>The first column of every row, as strings (a page of ids, a list of names).</summary>
    public static async Task<List<string>> ReadStringsAsync(this DbCommand cmd, CancellationToken cancellationToken)
    {
        var values = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) values.Add(r.GetString(0));
        return values;
    }

    public static uint GetUInt32Checked(this DbDataReader reader, int ordinal) => checked((uint)reader.GetFieldValue<ulong>(ordinal));
}

internal static class Sql
{
    /// <summary>Adds one parameter per value and returns the comma-separated parameter names for an IN (…) list.</summary>
    public static string InList(DbCommand cmd, IReadOnlyList<object> values, string prefix)
    {
        for (int i = 0; i < values.Count; i++) cmd.Parameters.AddWithValue($"@{prefix}{i}", values[i]);
        return string.Join(',', values.Select((_, i) => $"@{prefix}{i}"));
    }
}
