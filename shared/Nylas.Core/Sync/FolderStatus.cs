using System.Globalization;

namespace Nylas.Core.Sync;

/// <summary>
/// What a folder's STATUS (or LIST-STATUS) tells about its contents: UIDVALIDITY, UIDNEXT, MESSAGES and, with
/// CONDSTORE, HIGHESTMODSEQ (0 without). An append moves UIDNEXT, an expunge MESSAGES, a flag change HIGHESTMODSEQ.
/// </summary>
public readonly record struct FolderStatus(uint UidValidity, uint UidNext, int Messages, ulong HighestModSeq)
{
    /// <summary>False when the server left UIDVALIDITY or UIDNEXT out: such a status proves nothing.</summary>
    public bool IsKnown => UidValidity != 0 && UidNext != 0;

    /// <summary>The status as stored on the folder row after a complete sync of it.</summary>
    public string Token => string.Create(CultureInfo.InvariantCulture, $"{UidValidity}:{UidNext}:{Messages}:{HighestModSeq}");

    public static FolderStatus? Parse(string? token)
    {
        var parts = token?.Split(':');
        if (parts is not { Length: 4 }
            || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint validity)
            || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint next)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int messages)
            || !ulong.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out ulong modSeq))
            return null;
        return new FolderStatus(validity, next, messages, modSeq);
    }
}

/// <summary>Which folders a sync step, or a watcher's probe, must look at, judged by their status alone.</summary>
public static class FolderStatusRules
{
    /// <summary>
    /// A folder can be skipped when the server's status equals the one its last complete sync saw: nothing was
    /// appended, expunged or, with CONDSTORE, changed. Without CONDSTORE a flag change leaves the status alone, so the
    /// folder is not skipped when its full flag comparison is due (<see cref="SyncSchedule.FullFlagCompareDue"/>).
    /// </summary>
    public static bool CanSkip(string? lastCompleteToken, FolderStatus listed, bool condStore, bool fullCompareDue)
    {
        if (!listed.IsKnown || FolderStatus.Parse(lastCompleteToken) is not { } last) return false;
        if (last != listed) return false;
        if (condStore && listed.HighestModSeq == 0) return false; // a CONDSTORE server that did not tell its HIGHESTMODSEQ
        return condStore || !fullCompareDue;
    }

    /// <summary>
    /// Names of the folders that differ between two probes of one account: a status that moved, a folder that
    /// appeared or one that vanished (a rename is both), in ordinal order.
    /// </summary>
    public static IReadOnlyList<string> Moved(IReadOnlyDictionary<string, FolderStatus> before, IReadOnlyDictionary<string, FolderStatus> after)
    {
        var moved = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, status) in after)
            if (!before.TryGetValue(name, out var earlier) || earlier != status) moved.Add(name);
        foreach (var name in before.Keys)
            if (!after.ContainsKey(name)) moved.Add(name);
        return [.. moved];
    }
}
