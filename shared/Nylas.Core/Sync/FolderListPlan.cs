namespace Nylas.Core.Sync;

/// <summary>A folder as the account's mirror has it; <c>UidValidity</c> is null until its first sync.</summary>
public readonly record struct MirroredFolder(long Id, string Name, uint? UidValidity);

/// <summary>A folder in the server's LIST; <c>UidValidity</c> is 0 when the server did not tell it.</summary>
public readonly record struct ListedFolder(string Name, uint UidValidity);

public enum FolderListAction
{
    /// <summary>Mirrored under the same name: the same folder.</summary>
    Keep,

    /// <summary>New name, but a vanished folder had its UIDVALIDITY: that folder renamed, keeping its id.</summary>
    Rename,

    /// <summary>A folder the mirror does not know.</summary>
    Create,
}

/// <summary>What to do for one listed folder; <c>MirroredId</c> is the mirrored folder kept or renamed.</summary>
public readonly record struct FolderListStep(string Name, FolderListAction Action, long? MirroredId);

/// <summary>
/// How the mirror's folder list follows the server's: one step per listed folder, in the listed order, and the
/// mirrored folders that vanished without a successor (deleted, in the mirror's order).
/// </summary>
public sealed record FolderListPlan(IReadOnlyList<FolderListStep> Steps, IReadOnlyList<long> Deleted)
{
    /// <summary>
    /// A name match is always the same folder, whatever its UIDVALIDITY (a changed one is a reset, handled when
    /// the folder is opened). Only a folder whose name vanished can be renamed, and only to a new name with the
    /// same non-zero UIDVALIDITY. When several candidates share one UIDVALIDITY, the first listed new name takes
    /// the first vanished folder in the mirror's order, and the others are created or deleted.
    /// </summary>
    public static FolderListPlan Create(IReadOnlyList<MirroredFolder> mirrored, IReadOnlyList<ListedFolder> listed)
    {
        var byName = mirrored.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var listedNames = listed.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var vanished = mirrored.Where(f => !listedNames.Contains(f.Name)).ToList();
        var steps = new List<FolderListStep>(listed.Count);
        foreach (var folder in listed)
        {
            if (byName.TryGetValue(folder.Name, out var known))
            {
                steps.Add(new FolderListStep(folder.Name, FolderListAction.Keep, known.Id));
                continue;
            }
            int renamedFrom = folder.UidValidity == 0 ? -1 : vanished.FindIndex(v => v.UidValidity == folder.UidValidity);
            if (renamedFrom >= 0)
            {
                steps.Add(new FolderListStep(folder.Name, FolderListAction.Rename, vanished[renamedFrom].Id));
                vanished.RemoveAt(renamedFrom);
                continue;
            }
            steps.Add(new FolderListStep(folder.Name, FolderListAction.Create, null));
        }
        return new FolderListPlan(steps, vanished.Select(v => v.Id).ToList());
    }
}
