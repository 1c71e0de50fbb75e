import LaurelShared

extension Laurel_V1_Program {
    var detailRows: [(String, String)] {
        var rows = [
            ("version", "\(version)"),
            ("updated", display(updatedAt, isSet: hasUpdatedAt)),
            ("points per unit", "\(earn.defaultPointsPerUnit) (default)"),
        ]
        rows += earn.rates.map { ("  in \($0.currencyCode)", "\($0.pointsPerUnit)" + ($0.minimumOrderMinor > 0 ? ", minimum order \($0.minimumOrderMinor) minor units" : "")) }
        rows += earn.categoryMultipliers.map { ("category \($0.match)", "\($0.multiplierPercent)%") }
        rows += earn.skuMultipliers.map { ("sku \($0.match)", "\($0.multiplierPercent)%") }
        rows += [
            ("excluded skus", earn.excludedSkus.joined(separator: ", ")),
            ("caps day/week/month", [earn.dailyCap, earn.weeklyCap, earn.monthlyCap].map { $0 == 0 ? "-" : "\($0)" }.joined(separator: " / ")),
            ("tier basis", tiers.windowDays == 0 ? "assigned by hand" : "\(tiers.basis.displayName) over \(tiers.windowDays) days"),
        ]
        rows += tiers.tiers.map {
            ("tier \($0.code)", "from \($0.threshold), earn \(max($0.earnMultiplierPercent, 100))%, cashback \($0.cashbackBasisPoints) bp")
        }
        rows += [
            ("enrolment bonus", "\(bonuses.enrolmentPoints)"),
            ("birthday bonus", "\(bonuses.birthdayPoints)"),
            ("referral (referrer/referee)", "\(referrals.referrerPoints) / \(referrals.refereePoints)"),
        ]
        return rows
    }
}

extension Laurel_V1_Campaign {
    var rewardDisplay: String {
        switch reward {
        case .multiplierPercent(let percent): "\(percent)% on targeted lines"
        case .bonusPoints(let points): "+\(points) per purchase"
        case nil: ""
        }
    }

    var detailRows: [(String, String)] {
        [
            ("campaign id", campaignID),
            ("name", name),
            ("status", status.displayName),
            ("reward", rewardDisplay),
            ("starts", display(startsAt, isSet: hasStartsAt)),
            ("ends", display(endsAt, isSet: hasEndsAt)),
            ("ended", display(endedAt, isSet: hasEndedAt)),
            ("tiers", target.tiers.joined(separator: ", ")),
            ("attributes", target.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
            ("skus", target.skus.joined(separator: ", ")),
            ("categories", target.categories.joined(separator: ", ")),
        ]
    }
}

func campaignsTable(_ campaigns: [Laurel_V1_Campaign]) -> TextTable {
    var table = TextTable(["CAMPAIGN ID", "NAME", "STATUS", "REWARD", "STARTS", "ENDS"])
    for campaign in campaigns {
        table.append([
            campaign.campaignID, campaign.name, campaign.status.displayName, campaign.rewardDisplay,
            display(campaign.startsAt, isSet: campaign.hasStartsAt), display(campaign.endsAt, isSet: campaign.hasEndsAt),
        ])
    }
    return table
}
