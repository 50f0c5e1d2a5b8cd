using System.Globalization;
using System.Text;
using MailKit;
using MimeKit;

namespace Nylas.DevTool.DemoMail;

// The content of the demo mailbox. Times are (days before day 0, hour UTC, minute); threads are
// written in chronological order. Only example.com / example.org / example.net addresses are used.
public sealed partial class DemoMailGenerator
{
    // Brightleaf Studio (the user's company, example.com)
    private static readonly Person Zoe = new("Zoë Fernández", "zoe.fernandez@example.com", 0, MailClient.Gmail);
    private static readonly Person Marcus = new("Marcus Okafor", "marcus.okafor@example.com", 0, MailClient.Gmail);
    private static readonly Person Priya = new("Priya Raman", "priya.raman@example.com", 0, MailClient.Gmail);
    private static readonly Person Sam = new("Sam Carter", "sam.carter@example.com", 0, MailClient.Gmail);
    private static readonly Person Office = new("Brightleaf Office", "office@example.com", 0, MailClient.Service);
    private static readonly Person PeopleTeam = new("Brightleaf People Team", "people@example.com", 0, MailClient.Service);
    private static readonly MailboxAddress Everyone = new("Brightleaf – everyone", "all@example.com");

    // Clients and partners (example.org)
    private static readonly Person Juergen = new("Jürgen Müller", "juergen.mueller@example.org", 1, MailClient.OutlookGerman);
    private static readonly Person Eleni = new("Ελένη Παπαδοπούλου", "eleni.papadopoulou@example.org", 2, MailClient.Gmail);
    private static readonly Person Francois = new("François Lefèvre", "francois.lefevre@example.org", 1, MailClient.Service);
    private static readonly Person Ana = new("Ana Souza", "ana.souza@example.org", -3, MailClient.Gmail);
    private static readonly Person Ci = new("Brightleaf CI", "ci@example.org", 0, MailClient.Service);
    private static readonly Person Hosting = new("Example Hosting", "no-reply@example.org", 0, MailClient.Service);
    private static readonly Person DesignConf = new("DesignConf 2027", "speakers@example.org", 1, MailClient.Service);

    // Friends and services (example.net)
    private static readonly Person LiLei = new("李雷", "li.lei@example.net", 8, MailClient.Gmail);
    private static readonly Person Tom = new("Tom Becker", "tom.becker@example.net", 0, MailClient.AppleMail);
    private static readonly Person Mia = new("Mia Kowalski", "mia.kowalski@example.net", 0, MailClient.AppleMail);
    private static readonly Person Newsletter = new("The Weekly Crumb", "newsletter@example.net", 0, MailClient.Service);
    private static readonly Person Shop = new("Pixel & Paper", "orders@example.net", 0, MailClient.Service);
    private static readonly Person Bank = new("Example Bank", "notifications@example.net", 0, MailClient.Service);
    private static readonly Person Cloud = new("Example Cloud", "security@example.net", 0, MailClient.Service);
    private static readonly Person Dentist = new("Smile Dental Clinic", "appointments@example.net", 0, MailClient.Service);

    private void AddScenarios()
    {
        WebsiteRedesignThread();
        MaintenanceOfferThread();
        HikingThread();
        ExpenseReportThread();
        PartnershipForwardThread();
        PostMortemThread();
        LiLeiThread();
        FontLicenceThread();
        KickoffAgendaLatin1();
        CalendarInvitation();
        InlineImageMessage();
        Newsletters();
        HostingInvoices();
        CiNotifications();
        OfficeAndTeamMessages();
        FriendsAndPersonal();
        Notifications();
    }

    private string Hi => $"Hi {_myFirstName},";

    // ---- threads ------------------------------------------------------------------------------

    private void WebsiteRedesignThread()
    {
        var first = Compose(Zoe, [_me.Mailbox], [Marcus.Mailbox, Sam.Mailbox], "Website redesign – first mockups", At(12, 9, 14),
            $"""
            {Hi}

            Attached are the first two mockups for the new website: the home page and the product page. I went with the warmer palette we talked about and a lot more white space.

            Could you have a look before Thursday? I'd especially like your opinion on the header – Marcus thinks it is too big.

            Thanks!
            Zoë

            --
            Zoë Fernández · Design Lead · Brightleaf Studio
            """,
            attachments:
            [
                Attachment("image/png", "mockup-home.png", HomeMockupPng(heroHeight: 34)),
                Attachment("image/png", "mockup-product.png", ProductMockupPng()),
            ]);
        Add(Inbox, first);

        var reply = Reply(first, _me, At(12, 11, 2),
            $"""
            Hi Zoë,

            These look great. The header is fine on desktop, but on a phone it pushes the first product below the fold. Could we try a version with a smaller hero image?

            The product page is perfect as it is.

            Cheers,
            {_myFirstName}
            """);
        Add(Sent, reply);

        var marcus = Reply(reply, Marcus, At(12, 13, 40),
            $"""
            Agree with {_myFirstName} – smaller hero on mobile, keep it as it is on desktop. Nice work, Zoë!

            Marcus
            """);
        Add(Inbox, marcus);

        var v2 = Reply(marcus, Zoe, At(11, 8, 55),
            """
            Here is v2 with a smaller hero image on mobile. If nobody objects I'll hand it over to Sam on Monday.

            Zoë
            """,
            attachments: [Attachment("image/png", "mockup-home-v2.png", HomeMockupPng(heroHeight: 18))]);
        Add(Inbox, v2);
    }

    private void MaintenanceOfferThread()
    {
        const string subject = "Angebot Wartungsvertrag 2027";
        var offer = Compose(Juergen, [_me.Mailbox], null, subject, At(20, 8, 31),
            $"""
            Hallo {_myFirstName},

            wie besprochen sende ich Ihnen anbei unser Angebot für den Wartungsvertrag 2027 (Hosting, Updates und zwei Workshops pro Jahr).

            Der Preis bleibt gegenüber 2026 unverändert. Über eine kurze Rückmeldung bis Ende nächster Woche würde ich mich sehr freuen.

            Mit freundlichen Grüßen
            Jürgen Müller
            Vertrieb · Müller & Söhne GmbH
            """,
            attachments:
            [
                Attachment("application/pdf", "Angebot-2027-0142.pdf", DemoAttachments.Pdf("Angebot Nr. 2027-0142",
                [
                    "Wartungsvertrag 2027 fuer Brightleaf Studio",
                    "",
                    "Hosting und Betrieb:            12 x 180,00 EUR",
                    "Updates und Sicherheitspatches:  inklusive",
                    "Workshops:                       2 x 650,00 EUR",
                    "",
                    "Summe netto:                    3.460,00 EUR",
                    "",
                    "Gueltig bis 31.12.2026. Mueller & Soehne GmbH",
                ])),
            ]);
        Add(Inbox, offer);

        var question = Reply(offer, _me, At(19, 10, 12),
            $"""
            Hallo Jürgen,

            thanks a lot for the offer – and sorry for answering in English. It looks good to us. One question: can the two workshops be held remotely, or only on site in Munich?

            Best regards,
            {_myFirstName}
            """);
        Add(Sent, question);

        var answer = Reply(question, Juergen, At(18, 7, 48),
            $"""
            Hallo {_myFirstName},

            no problem, English is fine! Both workshops can be held remotely, of course. If you prefer on site, we only charge the travel costs.

            Beste Grüße / Best regards
            Jürgen
            """);
        Add(Inbox, answer);

        var go = Reply(answer, _me, At(17, 15, 20),
            $"""
            Perfect, remote works for us. Please send the order confirmation and we'll sign it.

            {_myFirstName}
            """);
        Add(Sent, go);

        var confirmation = Reply(go, Juergen, At(16, 9, 5),
            $"""
            Hallo {_myFirstName},

            anbei die Auftragsbestätigung. Bitte senden Sie sie unterschrieben an uns zurück.

            Vielen Dank für Ihr Vertrauen!
            Jürgen Müller
            """,
            attachments:
            [
                Attachment("application/pdf", "Auftragsbestaetigung-2027-0142.pdf", DemoAttachments.Pdf("Auftragsbestaetigung 2027-0142",
                [
                    "Wartungsvertrag 2027 fuer Brightleaf Studio",
                    "Workshops: remote (2 x 650,00 EUR)",
                    "Summe netto: 3.460,00 EUR",
                    "",
                    "Bitte unterschrieben zurueck an juergen.mueller@example.org",
                    "",
                    "Ort, Datum: ____________________   Unterschrift: ____________________",
                ])),
            ]);
        Add(Inbox, confirmation, MessageFlags.Flagged); // still needs signing
    }

    private void HikingThread()
    {
        var invite = Compose(Tom, [_me.Mailbox, Mia.Mailbox], null, "Hiking on Saturday? 🥾⛰️", At(6, 18, 12),
            """
            Hey both,

            the weather looks great for Saturday. Shall we do the ridge trail again? I can drive, there's room for four.

            Meet at 8:00 at the station?

            Tom

            Sent from my iPhone
            """);
        Add(Inbox, invite);

        var mia = Reply(invite, Mia, At(6, 19, 3),
            """
            I'm in! 🙌 I'll bring sandwiches and the good coffee.

            Mia
            """);
        Add(Inbox, mia);

        var me = Reply(mia, _me, At(6, 20, 30),
            $"""
            Count me in too. 8:00 at the station works. I'll bring the first-aid kit and a paper map in case the app fails again 😄

            {_myFirstName}
            """);
        Add(Sent, me);

        var tom = Reply(me, Tom, At(5, 7, 45),
            """
            Great, see you at the station! Forecast: 19 °C and sunny ☀️

            Tom
            """);
        Add(Inbox, tom);
    }

    private void ExpenseReportThread()
    {
        var report = Compose(Priya, [_me.Mailbox], null, "Expense report – October", At(27, 9, 10),
            $"""
            {Hi}

            please find your expenses for last month attached. Could you check the two items marked with a question mark and tell me which project they belong to?

            Thanks,
            Priya
            """,
            attachments:
            [
                Attachment("text/csv", "expenses-october.csv", DemoAttachments.Csv(
                [
                    ["Date", "Description", "Category", "Amount (EUR)", "Project"],
                    ["2026-10-02", "Train ticket Munich, return", "Travel", "148.60", "Müller & Söhne"],
                    ["2026-10-02", "Café Müller – client lunch", "Meals", "54.20", "Müller & Söhne"],
                    ["2026-10-03", "Taxi", "Travel", "31.00", "?"],
                    ["2026-10-14", "Books: \"Design Systems\", \"Refactoring UI\"", "Training", "72.45", "?"],
                    ["2026-10-21", "Printer paper, 5 × A4", "Office", "23.95", "Internal"],
                ]), charset: "utf-8"),
            ]);
        Add(Archive, report);

        var answer = Reply(report, _me, At(27, 10, 25),
            $"""
            Hi Priya,

            the taxi was for the Müller & Söhne workshop, and the books are for the website project.

            {_myFirstName}
            """);
        Add(Sent, answer);

        Add(Archive, Reply(answer, Priya, At(26, 8, 2),
            """
            Perfect, thank you! All booked.

            Priya
            """));
    }

    private void PartnershipForwardThread()
    {
        var contract = DemoAttachments.Docx(
        [
            "Partnership Agreement – Draft v2",
            "between Brightleaf Studio and Acropolis Digital",
            "1. Scope: joint design and development projects for customers in Greece and Germany.",
            "2. Term: twelve months from signature, renewed automatically.",
            "3. Responsibilities: each party staffs its own projects.",
            "4. Payment terms: invoices are payable within 14 days.",
        ]);
        // Eleni wrote to Marcus only: this message is not in the user's mailbox, but its
        // Message-ID ends up in the forward's References.
        var original = Compose(Eleni, [Marcus.Mailbox], null, "Partnership agreement – draft v2", At(10, 14, 12),
            """
            Dear Marcus,

            please find attached the second draft of our partnership agreement. We have included your comments on the scope and added a section on payment terms.

            Kind regards,
            Ελένη
            """);

        var forward = Forward(original, Marcus, [_me.Mailbox], At(9, 10, 0),
            $"{_myFirstName}, can you read through this before our call with Eleni on Friday? Mostly section 4 (payment terms).\n\nMarcus",
            [Attachment("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Partnership-Agreement-draft-v2.docx", contract)]);
        Add(Inbox, forward);

        var review = Reply(forward, _me, At(9, 14, 30),
            $"""
            Marcus, Ελένη,

            I've read the draft. Section 4 looks fine, but I'd suggest 30 days instead of 14 for the payment term, and we should say that invoices are in EUR.

            Best,
            {_myFirstName}
            """);
        review.Cc.Add(Eleni.Mailbox); // the user brings Eleni into the conversation
        Add(Sent, review);

        Add(Inbox, Reply(review, Eleni, At(8, 9, 20),
            $"""
            Γεια σας {_myFirstName},

            thank you for the quick review. 30 days and EUR are both fine for us. I'll send draft v3 next week.

            Με εκτίμηση,
            Ελένη Παπαδοπούλου
            """));
    }

    private void PostMortemThread()
    {
        var report = Compose(Sam, [_me.Mailbox, Marcus.Mailbox, Zoe.Mailbox, Priya.Mailbox], null,
            "Post-mortem: checkout outage on Tuesday", At(3, 9, 0),
            """
            Hi all,

            here is the short post-mortem for Tuesday's checkout outage.

            What happened: between 14:05 and 14:47 UTC the payment provider's webhook calls failed because our TLS certificate had expired.
            Impact: 23 orders could not be completed; all customers have been contacted.
            Root cause: the renewal job ran on the old server, which we switched off in September.
            Fix: renewed the certificate, moved the job, added an alert 14 days before expiry.

            Comments welcome before Friday.

            Sam
            """);
        Add(Inbox, report);

        var marcus = Reply(report, Marcus, At(3, 10, 15),
            """
            Thanks Sam, clear and honest. Can we also add the certificate check to the monthly ops checklist?

            Marcus
            """);
        Add(Inbox, marcus);

        var me = Reply(marcus, _me, At(3, 11, 30),
            $"""
            +1. I can write the checklist entry. Sam, could you send me the link to the alert's runbook?

            {_myFirstName}
            """);
        Add(Sent, me);

        var sam = Reply(me, Sam, At(3, 13, 5),
            """
            Sure: it's on the wiki under Ops → Certificates. I also added a panel to the ops dashboard.

            Sam
            """);
        Add(Inbox, sam);

        var zoe = Reply(sam, Zoe, At(2, 8, 40),
            """
            Late to the party – should we put a short note on the status page next time? Customers asked about it on Instagram.

            Zoë
            """);
        Add(Inbox, zoe);

        Add(Sent, Reply(zoe, _me, At(2, 9, 12),
            $"""
            Good idea, Zoë. I'll add "update the status page" as step 1 of the incident checklist.

            {_myFirstName}
            """));
    }

    private void LiLeiThread()
    {
        var hello = Compose(LiLei, [_me.Mailbox], null, "好久不见 – long time no see!", At(15, 3, 20),
            $"""
            {Hi}

            好久不见！How are you? I'm back in Shanghai since the summer and finally have a bit more time.

            Are you still planning to visit Asia next spring? You'd be very welcome to stay with us.

            李雷
            """);
        Add(Inbox, hello);

        var me = Reply(hello, _me, At(14, 19, 0),
            $"""
            Hi Li Lei,

            so good to hear from you! Yes, I'm hoping to come in April. I'll let you know as soon as I've booked the flights.

            {_myFirstName}
            """);
        Add(Sent, me);

        Add(Inbox, Reply(me, LiLei, At(13, 2, 10),
            """
            Great! April is a lovely time here – 春天 (spring) in the parks. Here's the view from our new flat 😊

            李雷
            """,
            attachments: [Attachment("image/png", "view-from-our-flat.png", SkylinePng())]));
    }

    private void FontLicenceThread()
    {
        var question = Compose(Zoe, [_me.Mailbox], null, "Font licences – quick question", At(7, 14, 2),
            """
            Do we have a licence for our brand font (Larkspur Sans) for the web, or only for print? I need to know before the website goes live.

            Zoë
            """);
        Add(Inbox, question);

        Add(Sent, Reply(question, _me, At(7, 15, 10),
            $"""
            Only print, I'm afraid. I'll ask Priya to buy the web licence (up to 50k page views a month should be plenty).

            {_myFirstName}
            """));
    }

    private void KickoffAgendaLatin1()
    {
        // An older French client that sends everything in ISO-8859-1: the body charset and the
        // RFC 2047 encoded words of the headers.
        // The user's name comes from the command line and may not fit into ISO-8859-1.
        var greeting = _myFirstName.All(c => c <= '\u00FF') ? $"Bonjour {_myFirstName}," : "Bonjour,";
        var text =
            $"""
            {greeting}

            Voici l'ordre du jour de la réunion de lancement de jeudi :

              1. Présentation de l'équipe
              2. Objectifs du projet et calendrier
              3. Budget (à confirmer)
              4. Questions diverses

            La réunion aura lieu dans nos bureaux à Lyon, au 2e étage. Café et croissants à partir de 9 h 30.

            À très bientôt,
            François Lefèvre
            Chef de projet
            """;
        const string subject = "Réunion de lancement - ordre du jour";
        var agenda = Compose(Francois, [_me.Mailbox], [Zoe.Mailbox], subject, At(5, 8, 15), text);
        agenda.Body = Latin1Part(text);
        agenda.From[0] = new MailboxAddress(Encoding.Latin1, Francois.Name, Francois.Address);
        agenda.Cc[0] = new MailboxAddress(Encoding.Latin1, Zoe.Name, Zoe.Address);
        agenda.Headers.Replace(HeaderId.Subject, Encoding.Latin1, subject);
        agenda.Headers.Add("X-Mailer", "Microsoft Outlook Express 6.00.2900.5512");
        Add(Inbox, agenda);

        Add(Sent, Reply(agenda, _me, At(4, 11, 20),
            $"""
            Bonjour François,

            merci pour l'ordre du jour ! I'll be there on Thursday. Could we add 15 minutes for a demo of the new website?

            À jeudi,
            {_myFirstName}
            """));
    }

    // ---- special single messages --------------------------------------------------------------

    private void CalendarInvitation()
    {
        var sent = At(1, 13, 4);
        // A weekday at least two days ahead, so the event is always in the future.
        var day = _day0.AddDays(3);
        while (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            day = day.AddDays(1);
        var start = new DateTimeOffset(day.AddHours(15), TimeSpan.Zero);
        var end = start.AddHours(1);
        var when = start.ToString("ddd MMM d, yyyy", CultureInfo.InvariantCulture) + " 3pm – 4pm (UTC)";
        var invite = new CalendarInvite(
            Uid: $"{_random.Next():x8}{_random.Next():x8}@example.org",
            Summary: "Brand workshop",
            Location: "Brightleaf Studio, meeting room 2 / https://meet.example.org/brand-workshop",
            Description: "Let's go through the new brand guidelines together: logo, colours, typography.\nPlease bring your questions!",
            Start: start,
            End: end,
            Stamp: sent,
            Organizer: Ana.Mailbox,
            Attendees: [_me.Mailbox, Zoe.Mailbox]);

        var text =
            $"""
            {Ana.Name} has invited you to an event.

            Brand workshop
            {when}

            Location
            Brightleaf Studio, meeting room 2 / https://meet.example.org/brand-workshop

            Let's go through the new brand guidelines together: logo, colours, typography.
            Please bring your questions!

            Guests
            {Ana.Name} - organizer
            {_me.Name}
            {Zoe.Name}

            Reply for {_me.Address}: Yes / No / Maybe

            Invitation from Google Calendar
            """;
        var message = Compose(Ana, [_me.Mailbox, Zoe.Mailbox], null,
            $"Invitation: Brand workshop @ {when} ({_me.Address})", sent, text);
        message.ReplyTo.Add(Ana.Mailbox);

        var ics = invite.ToICalendar();
        var calendarPart = new TextPart("calendar");
        calendarPart.ContentType.Parameters.Add("method", "REQUEST");
        calendarPart.SetText(Encoding.UTF8, ics);

        // Google's layout: the event as a text/calendar alternative, plus invite.ics to download.
        var icsFile = Attachment("application/ics", "invite.ics", Encoding.UTF8.GetBytes(ics));
        message.Body = Mixed(
        [
            Alternative(PlainPart(text), HtmlPart(TextToHtml(text)), calendarPart),
            icsFile,
        ]);
        Add(Inbox, message);
    }

    private void InlineImageMessage()
    {
        const string cid = "van-photo.0f3a9c@example.com";
        var text =
            $"""
            {Hi}

            the new van is here! The sign painters did a great job with the logo – see the photo.

            Zoë
            """;
        var html =
            $"""
            <div dir="ltr"><p>{Encode(Hi)}</p>
            <p>the new van is here! The sign painters did a great job with the logo – see the photo.</p>
            <p><img src="cid:{cid}" alt="The new Brightleaf van" width="192" height="128"></p>
            <p>Zoë</p></div>
            """;
        var message = Compose(Zoe, [_me.Mailbox], [Marcus.Mailbox], "The new van is here 🚐", At(4, 15, 30), text, html);

        var image = new MimePart("image", "png")
        {
            Content = new MimeContent(new MemoryStream(VanPng(), writable: false)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Inline) { FileName = "van.png" },
            ContentTransferEncoding = ContentEncoding.Base64,
            ContentId = cid,
        };
        var related = new MultipartRelated { HtmlPart(html), image };
        message.Body = Alternative(PlainPart(text), related);
        Add(Inbox, message, MessageFlags.Flagged);
    }

    private void Newsletters()
    {
        (int DaysAgo, string Title, string[] Articles, bool? Seen)[] issues =
        [
            (23, "Laminated dough without tears", ["Why butter temperature is everything", "A 3-day croissant schedule", "Reader question: can I freeze it?"], null),
            (16, "The science of sourdough", ["Wild yeast, explained", "Hydration charts for beginners", "Our favourite bannetons"], false),
            (9, "5 ideas for winter menus", ["Spiced pear galette", "Rye & walnut rolls", "Hot chocolate that sells itself"], null),
            (2, "Small bakeries, big websites", ["Photos that make people hungry", "Online pre-orders in a weekend", "What to put above the fold"], null),
        ];
        var number = 41;
        foreach (var (daysAgo, title, articles, seen) in issues)
        {
            var subject = $"🥐 Issue #{number}: {title}";
            var html = NewsletterHtml(number, title, articles);
            var message = Compose(Newsletter, [_me.Mailbox], null, subject, At(daysAgo, 6, 0), title, html);
            // HTML only, as many newsletter tools send it.
            message.Body = HtmlPart(html);
            message.Headers.Add("List-Id", "The Weekly Crumb <weekly-crumb.example.net>");
            message.Headers.Add("List-Unsubscribe", "<https://example.net/unsubscribe?list=weekly-crumb>, <mailto:unsubscribe@example.net>");
            message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
            message.Headers.Add("Precedence", "bulk");
            Add(Inbox, message, seen: seen);
            number++;
        }
    }

    private static string NewsletterHtml(int number, string title, string[] articles)
    {
        var items = string.Concat(articles.Select((a, i) =>
            $"""<tr><td style="padding:12px 24px;border-bottom:1px solid #eee"><h2 style="margin:0 0 4px;font-size:18px;color:#5a3e1b">{Encode(a)}</h2><p style="margin:0;color:#555">Read more on <a href="https://example.net/weekly-crumb/{number}/{i + 1}">our website</a>.</p></td></tr>"""));
        return
            $"""
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f1ea;font-family:Georgia,serif">
            <tr><td align="center"><table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff">
            <tr><td style="padding:24px;background:#5a3e1b;color:#fff"><h1 style="margin:0;font-size:24px">The Weekly Crumb · #{number}</h1><p style="margin:4px 0 0">{Encode(title)}</p></td></tr>
            {items}
            <tr><td style="padding:16px 24px;font-size:12px;color:#999">You receive this e-mail because you subscribed at example.net. <a href="https://example.net/unsubscribe?list=weekly-crumb">Unsubscribe</a></td></tr>
            </table></td></tr></table>
            """;
    }

    private void HostingInvoices()
    {
        (int DaysAgo, string Number, string Amount, string Folder)[] invoices =
        [
            (29, "INV-2026-0377", "49.00", Archive),
            (1, "INV-2026-0412", "49.00", Inbox),
        ];
        foreach (var (daysAgo, number, amount, folder) in invoices)
        {
            var text =
                $"""
                Hello {_me.Name},

                your invoice {number} over EUR {amount} is ready and attached to this e-mail. It will be charged to your card ending in 4242 in 7 days.

                Questions? Just reply to this e-mail – replies go to our support team.

                Example Hosting
                """;
            var html =
                $"""<div style="font-family:Arial,sans-serif"><h2>Invoice {number}</h2><p>Hello {Encode(_me.Name)},</p><p>your invoice <b>{number}</b> over <b>EUR {amount}</b> is ready and attached to this e-mail. It will be charged to your card ending in 4242 in 7 days.</p><p>Questions? Just reply to this e-mail – replies go to our support team.</p><p style="color:#888">Example Hosting</p></div>""";
            var message = Compose(Hosting, [_me.Mailbox], null, $"Your invoice {number} is ready", At(daysAgo, 5, 0), text, html,
                [Attachment("application/pdf", $"{number}.pdf", DemoAttachments.Pdf($"Invoice {number}",
                    ["Example Hosting", "Web hosting, plan Studio, 1 month", $"Total: EUR {amount} (incl. VAT)"]))]);
            // no-reply sender: replies must go to support.
            message.ReplyTo.Add(new MailboxAddress("Example Hosting Support", "support@example.org"));
            Add(folder, message);
        }
    }

    private void CiNotifications()
    {
        var build = _random.Next(470, 480);
        (int DaysAgo, int Hour, int Minute, bool Failed)[] runs = [(10, 15, 3, true), (10, 16, 20, false), (0, 9, 12, true), (0, 9, 41, false)];
        foreach (var (daysAgo, hour, minute, failed) in runs)
        {
            var commit = $"{_random.Next():x7}"[..7];
            var subject = failed
                ? $"[brightleaf/website] Run failed: build (main) #{build} ({commit})"
                : $"[brightleaf/website] Run fixed: build (main) #{build} ({commit})";
            var text = failed
                ? $"Build #{build} failed on main.\n\nCommit {commit} by Sam Carter\nFailed step: test (3 failed, 212 passed)\n\nhttps://ci.example.org/brightleaf/website/runs/{build}"
                : $"Build #{build} passed on main after a failure.\n\nCommit {commit} by Sam Carter\nAll 215 tests passed.\n\nhttps://ci.example.org/brightleaf/website/runs/{build}";
            var message = Compose(Ci, [_me.Mailbox], null, subject, At(daysAgo, hour, minute), text);
            message.Headers.Add("X-CI-Build", build.ToString(CultureInfo.InvariantCulture));
            Add(Inbox, message);
            build++;
        }
    }

    private void OfficeAndTeamMessages()
    {
        var allHands = Compose(Marcus, [Everyone], null, "All-hands on Monday at 10:00", At(8, 16, 45),
            """
            Hi everyone,

            quick reminder: all-hands on Monday at 10:00 in the big room (and on video for the remote folks).

            Agenda:
            - Q4 numbers (Priya)
            - Website relaunch (Zoë and Sam)
            - Hiring plans for next year
            - Your questions

            See you there,
            Marcus
            """);
        allHands.Headers.Add("List-Id", "Brightleaf everyone <all.example.com>");
        Add(Inbox, allHands);

        Add(Inbox, Compose(Priya, [Everyone], null, "Reminder: timesheets due Friday", At(5, 12, 0),
            """
            Hi all,

            friendly reminder to submit your timesheets for this month by Friday 17:00. Missing hours can't be billed to customers!

            Thanks,
            Priya
            """));

        Add(Inbox, Compose(Office, [Everyone], null, "Lunch menu this week 🍲", At(4, 9, 0),
            """
            Mon: Lentil soup & fresh bread
            Tue: Pasta alla Norma
            Wed: Falafel bowl
            Thu: Chili sin carne
            Fri: Pizza day 🍕

            Vegan options every day. Please tell us about allergies by Monday.
            """));

        Add(Inbox, Compose(PeopleTeam, [_me.Mailbox], null, "Your leave request was approved ✅", At(11, 12, 30),
            $"""
            Hello {_me.Name},

            your leave request (5 days, 22–26 of next month) was approved by Marcus Okafor.

            Enjoy your time off!
            Brightleaf People Team
            """));

        Add(Inbox, Compose(Sam, [_me.Mailbox], null, "Can you review PR #213? (image upload)", At(0, 8, 30),
            $"""
            {Hi}

            could you review PR #213 today? It adds image upload to the CMS – mostly the resize logic and the file size limits (10 MB, JPEG/PNG/WebP only).

            https://git.example.com/brightleaf/website/pulls/213

            Thanks!
            Sam
            """), MessageFlags.Flagged);

        Add(Inbox, Compose(Priya, [_me.Mailbox, Marcus.Mailbox], null, "Q1 budget – first draft", At(0, 10, 5),
            $"""
            Hi {_myFirstName}, hi Marcus,

            here are the first numbers for Q1:

            Salaries: EUR 96,000
            Office and tools: EUR 8,400
            Marketing (website relaunch): EUR 12,000
            Travel: EUR 3,500

            Could you check the marketing line by Wednesday? The website relaunch might need more.

            Priya
            """));

        // The user's own announcement, sent to the whole company.
        Add(Sent, Compose(_me, [Everyone], null, "Office closed this Friday – network maintenance", At(21, 16, 0),
            """
            Hi everyone,

            the office will be closed this Friday while the new network is installed. Please work from home; VPN and e-mail stay up.

            Thanks for your patience!
            """));
    }

    private void FriendsAndPersonal()
    {
        Add(Inbox, Compose(Mia, [_me.Mailbox], null, "Photos from the lake 📸", At(20, 19, 40),
            """
            Here are the two photos from Sunday. The second one is my new phone background 😍

            Mia

            Sent from my iPhone
            """,
            attachments:
            [
                Attachment("image/png", "IMG_4711.png", LakePng(sunset: false)),
                Attachment("image/png", "IMG_4712.png", LakePng(sunset: true)),
            ]));

        Add(Inbox, Compose(Tom, [_me.Mailbox, Mia.Mailbox], null, "Photos from Saturday 🏞️", At(1, 19, 30),
            """
            What a day! Two photos from the top – the lake looked unreal.

            Same time next month?

            Tom

            Sent from my iPhone
            """,
            attachments:
            [
                Attachment("image/png", "IMG_2031.png", LakePng(sunset: false)),
                Attachment("image/png", "IMG_2044.png", LakePng(sunset: true)),
            ]));

        Add(Inbox, Compose(Tom, [_me.Mailbox, Mia.Mailbox], null, "Board game night? 🎲", At(24, 20, 5),
            """
            Board game night at mine on Friday? I finally got the expansion.

            Tom
            """));

        Add(Inbox, Compose(Eleni, [_me.Mailbox], [Marcus.Mailbox], "Επίσκεψη στην Αθήνα – visit in January", At(1, 10, 15),
            $"""
            Καλημέρα {_myFirstName},

            now that the agreement is nearly done, would you and Marcus like to visit us in Athens in January? We could meet the team and plan the first joint project.

            The week of the 18th would suit us best. Our office is 10 minutes from the Acropolis Museum 🏛️

            Φιλικά,
            Ελένη
            """));

        Add(Inbox, Compose(Dentist, [_me.Mailbox], null, "Reminder: your appointment next week", At(14, 8, 0),
            $"""
            Dear {_me.Name},

            this is a reminder of your check-up appointment next Tuesday at 08:30 with Dr. Nowak.

            If you cannot make it, please call us or reply to this e-mail at least 24 hours before.

            Smile Dental Clinic
            """));
    }

    private void Notifications()
    {
        Add(Archive, Compose(Shop, [_me.Mailbox], null, "Your order #A-20931 has shipped 📦", At(22, 13, 0),
            """
            Good news! Your order #A-20931 is on its way.

            1 × Sketchbook A5, dotted
            2 × Fineliner set (12 colours)

            Track your parcel: https://example.net/track/A-20931

            Pixel & Paper
            """,
            """<div style="font-family:Helvetica,Arial,sans-serif"><h2 style="color:#e4572e">Good news! Your order #A-20931 is on its way.</h2><table cellpadding="6"><tr><td>1 ×</td><td>Sketchbook A5, dotted</td></tr><tr><td>2 ×</td><td>Fineliner set (12 colours)</td></tr></table><p><a href="https://example.net/track/A-20931" style="background:#e4572e;color:#fff;padding:10px 16px;text-decoration:none">Track your parcel</a></p><p>Pixel &amp; Paper</p></div>"""));

        Add(Archive, Compose(Cloud, [_me.Mailbox], null, "New sign-in to your Example Cloud account", At(25, 21, 14),
            $"""
            Hello {_me.Name},

            we noticed a new sign-in to your account ({_me.Address}):

            Device: Firefox on Linux
            Location: near Lisbon, Portugal

            If this was you, you can ignore this e-mail. If not, change your password at https://example.net/security.
            """,
            $"""<div style="font-family:Arial,sans-serif"><p>Hello {Encode(_me.Name)},</p><p>we noticed a new sign-in to your account ({Encode(_me.Address)}):</p><ul><li>Device: Firefox on Linux</li><li>Location: near Lisbon, Portugal</li></ul><p>If this was you, you can ignore this e-mail. If not, <a href="https://example.net/security">change your password</a>.</p></div>"""));

        Add(Archive, Compose(Bank, [_me.Mailbox], null, "Your monthly statement is available", At(28, 7, 0),
            """
            Your monthly account statement is now available in online banking.

            For your security we never send statements as attachments and never ask for your PIN by e-mail.

            Example Bank
            """));

        var cfp = Compose(DesignConf, [_me.Mailbox], null, "Call for speakers: DesignConf 2027 closes in 2 weeks", At(18, 14, 0),
            """
            DesignConf 2027 – Call for speakers

            We're looking for talks on design systems, accessibility and design for small businesses. 30-minute talks and 3-hour workshops; travel costs covered.

            Submit by the end of the month: https://example.org/designconf/cfp

            Questions? Reply to this e-mail – it goes to the programme committee.
            """,
            """<div style="font-family:Verdana,sans-serif;max-width:560px"><h1 style="color:#2b59c3">DesignConf 2027 – Call for speakers</h1><p>We're looking for talks on <b>design systems</b>, <b>accessibility</b> and <b>design for small businesses</b>. 30-minute talks and 3-hour workshops; travel costs covered.</p><p><a href="https://example.org/designconf/cfp">Submit your talk</a> by the end of the month.</p><p style="color:#777">Questions? Reply to this e-mail – it goes to the programme committee.</p></div>""");
        cfp.ReplyTo.Add(new MailboxAddress("DesignConf programme committee", "programme@example.org"));
        Add(Inbox, cfp);
    }

    // ---- pictures -----------------------------------------------------------------------------

    private static readonly (byte, byte, byte) White = (255, 255, 255);
    private static readonly (byte, byte, byte) LeafGreen = (46, 125, 50);
    private static readonly (byte, byte, byte) Sand = (240, 226, 200);
    private static readonly (byte, byte, byte) Grey = (200, 200, 200);
    private static readonly (byte, byte, byte) BuyButton = (228, 87, 46);

    private static bool In(int v, int from, int to) => v >= from && v < to;

    /// <summary>A wireframe of the home page: header bar, hero block, three cards.</summary>
    private static byte[] HomeMockupPng(int heroHeight) => DemoAttachments.Png(160, 100, (x, y) =>
        y < 10 ? LeafGreen
        : In(y, 14, 14 + heroHeight) && In(x, 8, 152) ? Sand
        : In(y, 20 + heroHeight, 20 + heroHeight + 28) && (In(x, 8, 52) || In(x, 58, 102) || In(x, 108, 152)) ? Grey
        : White);

    /// <summary>A wireframe of the product page: picture left, text lines right.</summary>
    private static byte[] ProductMockupPng() => DemoAttachments.Png(160, 100, (x, y) =>
        y < 10 ? LeafGreen
        : In(x, 8, 72) && In(y, 16, 80) ? Sand
        : In(x, 80, 152) && y is >= 18 and < 70 && (y - 18) % 8 < 3 ? Grey
        : In(x, 80, 120) && In(y, 76, 88) ? BuyButton
        : White);

    /// <summary>A green van with the logo on the side, on a road under a blue sky.</summary>
    private static byte[] VanPng() => DemoAttachments.Png(96, 64, (x, y) =>
    {
        var wheel1 = (x - 28) * (x - 28) + (y - 50) * (y - 50) < 36;
        var wheel2 = (x - 70) * (x - 70) + (y - 50) * (y - 50) < 36;
        if (wheel1 || wheel2) return (30, 30, 30);
        if (In(x, 16, 84) && In(y, 22, 48)) // body
        {
            if (In(x, 64, 80) && In(y, 25, 34)) return (170, 210, 235); // window
            if (In(x, 30, 46) && In(y, 28, 40)) return ((x + y) % 2 == 0 ? (byte)255 : (byte)230, 220, 120); // logo
            return LeafGreen;
        }
        if (y >= 52) return (90, 90, 90); // road
        return ((byte)(120 + y), (byte)(170 + y / 2), 235); // sky
    });

    /// <summary>A city skyline at dusk; building heights are fixed, not random.</summary>
    private static byte[] SkylinePng()
    {
        int[] heights = [30, 44, 26, 52, 38, 60, 34, 48, 28, 40, 56, 32];
        return DemoAttachments.Png(96, 72, (x, y) =>
        {
            var top = 72 - heights[x / 8 % heights.Length];
            if (y >= top)
                return (x % 4 == 1 && y % 6 == 2 && y > top + 2) ? ((byte)255, (byte)214, (byte)102) : ((byte)40, (byte)44, (byte)70);
            return ((byte)(250 - y * 2), (byte)(140 + y), (byte)(120 + y * 2)); // dusk gradient
        });
    }

    /// <summary>A mountain lake; <paramref name="sunset"/> switches the palette.</summary>
    private static byte[] LakePng(bool sunset) => DemoAttachments.Png(96, 64, (x, y) =>
    {
        var mountain = y > 40 - Math.Abs(x % 48 - 24) && y < 40;
        if (y >= 40) return sunset ? ((byte)200, (byte)110, (byte)90) : ((byte)60, (byte)120, (byte)170); // water
        if (mountain) return sunset ? ((byte)70, (byte)50, (byte)80) : ((byte)80, (byte)110, (byte)90);
        return sunset ? ((byte)250, (byte)(150 + y * 2), (byte)90) : ((byte)(150 + y * 2), (byte)200, (byte)240);
    });
}
