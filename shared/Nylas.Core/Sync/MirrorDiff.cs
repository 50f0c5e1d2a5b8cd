namespace Nylas.Core.Sync;

/// <summary>What changed on the server among the UIDs one folder's mirror already has: flags, Gmail labels and expunges.</summary>
public sealed class MirrorDiff(IReadOnlyDictionary<uint, string> storedFlags, IReadOnlyDictionary<uint, long[]> storedLabels)
{
    public List<(uint Uid, string Flags)> FlagChanges { get; } = [];

    public List<(uint Uid, long[] LabelIds)> LabelChanges { get; } = [];

    /// <summary>
    /// One UID as the server has it now: <paramref name="flags"/> formatted the way the mirror stores them,
    /// <paramref name="labelIds"/> null unless the account uses labels. UIDs the mirror does not have are ignored.
    /// </summary>
    public void Observe(uint uid, string flags, long[]? labelIds)
    {
        if (storedFlags.TryGetValue(uid, out var oldFlags) && flags != oldFlags)
            FlagChanges.Add((uid, flags));
        if (labelIds is not null && storedLabels.TryGetValue(uid, out var oldLabels) && !labelIds.SequenceEqual(oldLabels))
            LabelChanges.Add((uid, labelIds));
    }

    /// <summary>Mirrored UIDs the server no longer has, including Gmail locations whose message is not ingested yet.</summary>
    public List<uint> Expunged(IReadOnlySet<uint> onServer)
        => storedFlags.Keys.Union(storedLabels.Keys).Where(uid => !onServer.Contains(uid)).ToList();

    /// <summary>
    /// UIDs within the checkpoint (fetched and queued) that the server holds and the mirror does not: their ingest is
    /// still queued, or was lost (a hole, see <see cref="HolePlan"/>). Ascending.
    /// </summary>
    public List<uint> Missing(IEnumerable<uint> onServer, uint syncedLowUid, uint syncedHighUid)
        => onServer.Where(uid => uid <= syncedHighUid && uid > syncedLowUid && !storedFlags.ContainsKey(uid)).Order().ToList();
}
