using MimeKit;
using Nylas.Engine.Sending;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Drafts;

/// <summary>A file of the account that a draft (or an inline send) attaches by its id in <c>file_ids</c>.</summary>
public sealed record AttachedFile(long RowId, string PublicId, string Filename, string ContentType, string Sha256);

/// <summary>The MIME of a composed message with its attached files: the JSON fields' multipart/alternative, wrapped in multipart/mixed.</summary>
public sealed class DraftComposer(FileStore files)
{
    public async Task<MimeMessage> ComposeAsync(OutgoingMessage outgoing, IReadOnlyList<AttachedFile> attachments, CancellationToken cancellationToken)
    {
        var message = outgoing.ToMime();
        if (attachments.Count == 0) return message;
        var mixed = new Multipart("mixed") { message.Body! };
        foreach (var file in attachments)
        {
            var content = new MemoryStream();
            await using (var stream = await files.OpenReadAsync(ContentAddressedStore.BlobName(file.Sha256), cancellationToken))
                await stream.CopyToAsync(content, cancellationToken);
            content.Position = 0;
            if (!ContentType.TryParse(file.ContentType, out var type)) type = new ContentType("application", "octet-stream");
            mixed.Add(new MimePart(type)
            {
                Content = new MimeContent(content),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = file.Filename,
            });
        }
        message.Body = mixed;
        return message;
    }
}
