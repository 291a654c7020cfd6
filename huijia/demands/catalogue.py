"""The default list of demand categories a city starts with (editable afterwards in the admin).

(group, code, name, respond within hours, resolve within hours, classifier seed words, skill words)
"""

CATEGORIES = (
    (
        "市政设施",
        "drain",
        "下水道堵塞",
        24,
        72,
        "下水道 堵 堵塞 堵了 反水 排水 疏通 化粪池 地漏 马桶 污水 冒水 管道 返臭",
        "水电 维修",
    ),
    ("市政设施", "streetlight", "路灯照明", 24, 72, "路灯 灯 不亮 照明 楼道灯 感应灯 黑 灯泡", "水电 电工"),
    ("市政设施", "road", "道路破损", 24, 168, "路面 坑 坑洼 破损 井盖 台阶 人行道 积水 塌陷 路", ""),
    (
        "物业管理",
        "utilities",
        "水电气故障",
        12,
        48,
        "停水 停电 水管 漏水 爆管 水压 电路 跳闸 燃气 煤气 天然气 水表 电表 没水 没电",
        "水电 维修",
    ),
    ("物业管理", "elevator", "电梯故障", 2, 24, "电梯 困人 停运 异响 故障 坏了", ""),
    ("环境卫生", "garbage", "垃圾清运", 24, 48, "垃圾 清运 堆放 垃圾桶 异味 臭 卫生 建筑垃圾 杂物", ""),
    ("环境卫生", "greening", "绿化养护", 24, 168, "树 树木 绿化 草坪 修剪 树枝 倒伏 杂草 花坛", ""),
    ("公共秩序", "parking", "停车管理", 24, 168, "停车 车位 占道 乱停 电动车 充电 飞线 挡路 车库", ""),
    ("公共秩序", "noise", "噪音扰民", 24, 72, "噪音 吵 扰民 装修 广场舞 喇叭 半夜 施工", ""),
    (
        "邻里关系",
        "neighbour",
        "邻里纠纷",
        24,
        168,
        "纠纷 矛盾 邻居 吵架 楼上 楼下 调解 争执 宠物 狗",
        "法律 调解 心理",
    ),
    (
        "民生服务",
        "elderly",
        "养老助残",
        24,
        168,
        "老人 独居 助餐 助浴 行动不便 轮椅 残疾 陪诊 高龄 空巢 失能 照顾",
        "医疗 护理 心理",
    ),
    (
        "民生服务",
        "health",
        "医疗健康",
        24,
        72,
        "看病 药 买药 体检 血压 血糖 医生 义诊 康复 疫苗",
        "医疗 护理",
    ),
    ("民生服务", "legal", "法律咨询", 48, 168, "法律 律师 合同 维权 遗嘱 继承 工资 拖欠 起诉 咨询", "法律"),
    (
        "民生服务",
        "children",
        "教育与儿童",
        48,
        168,
        "孩子 小孩 辅导 作业 托管 留守 儿童 学校 学习 暑假",
        "教育 辅导",
    ),
    ("民生服务", "wish", "微心愿", 72, 336, "心愿 愿望 想要 希望 捐赠 学习用品 书包 书", ""),
    (
        "安全隐患",
        "safety",
        "安全隐患",
        4,
        24,
        "隐患 消防 消防通道 灭火器 电线 老化 高空 坠物 危险 漏电 私拉",
        "水电 电工",
    ),
    ("其他", "other", "其他", 48, 168, "", ""),
)


def ensure_categories(Category=None) -> None:
    """Creates the default categories that are missing (the migration, the seed and the test world)."""
    if Category is None:
        from huijia.demands.models import Category
    existing = set(Category.objects.values_list("code", flat=True))
    Category.objects.bulk_create(
        Category(
            group=group,
            code=code,
            name=name,
            respond_hours=respond,
            resolve_hours=resolve,
            keywords=keywords,
            skill_words=skills,
            sort=i * 10,
        )
        for i, (group, code, name, respond, resolve, keywords, skills) in enumerate(CATEGORIES, start=1)
        if code not in existing
    )
