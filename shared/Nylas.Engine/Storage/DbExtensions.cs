using System.Data.Common;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>Parameters on commands created by <see cref="MySqlDataSource.CreateCommand"/> (typed as <see cref="DbCommand"/>).</summary>
public static class DbExtensions
{
    public static void AddWithValue(this DbParameterCollection parameters, string name, object? value)
        => parameters.Add(new MySqlParameter(name, value ?? DBNull.Value));

    public static uint GetUInt32Checked(this DbDataReader reader, int ordinal) => checked((uint)reader.GetFieldValue<ulong>(ordinal));
}
